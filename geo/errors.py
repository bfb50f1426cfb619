"""Domain exceptions of the grid engine.

Messages are in Chinese: they reach planners through the CLI and the web pages unchanged.
"""

from __future__ import annotations


class GridError(ValueError):
    """Base class of the grid engine's domain errors."""


class InvalidInput(GridError):
    """Input data that the grid engine cannot work with (names the offending feature)."""


class NoValidDivision(GridError):
    """No division of the community satisfies the household band; the message says why."""
