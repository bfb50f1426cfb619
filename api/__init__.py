"""The FastAPI app and the ``wangge`` command line."""
