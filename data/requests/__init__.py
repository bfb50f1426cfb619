"""The grid at work (六个一): residents' requests routed to their grid worker and worked to a
result, and the worker's field updates of the grid's households.

``machine`` is the request's state machine (pure Python); ``submit`` routes and stores a new
request in one round trip; ``workflow`` moves requests through their states; ``views`` reads
them for the tracking page, the inboxes, the dashboards and exports (masking personal fields
and auditing every read of them); ``fieldwork`` records household changes from the field.
"""
