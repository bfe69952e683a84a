"""Errors of the cluster helpers: ``MLServeError``s, so the CLI prints them as one line."""

from __future__ import annotations

from ..errors import MLServeError


class KubectlError(MLServeError, RuntimeError):
    """A kubectl command failed; the message has the command and what it printed."""


class JobFailed(MLServeError, RuntimeError):
    """A Job reached its Failed condition; the message has its pods' events and logs."""


class ImageUnavailable(KubectlError):
    """A pod cannot get its image (never pullable, or its pulls keep failing)."""
