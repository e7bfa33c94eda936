"""Exceptions that carry a user-facing message (file name + problem).

Commands catch :class:`IntersegError` at the top level and print its message instead of a
traceback; anything else is a bug.
"""

from __future__ import annotations


class IntersegError(Exception):
    """Base class of all errors whose message is meant for the user."""


class ConfigError(IntersegError):
    """A configuration file is missing, malformed, or has wrong/unknown keys."""


class DataError(IntersegError):
    """An image or mask cannot be used (corrupt, wrong size, empty, too large...)."""


class CheckpointError(IntersegError):
    """A checkpoint file is truncated, foreign, tampered with, or incompatible."""


class InteractionError(IntersegError):
    """An interaction is invalid for the image (outside it, degenerate...)."""
