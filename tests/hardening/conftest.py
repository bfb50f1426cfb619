"""The hardening tests use the planner workspace's ``world``: a fresh database with a second
street office and community and an account of every role."""

from tests.planning.conftest import world

__all__ = ["world"]
