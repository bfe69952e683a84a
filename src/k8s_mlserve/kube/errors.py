"""Errors of the cluster helpers."""

from __future__ import annotations


class KubectlError(RuntimeError):
    """A kubectl command failed; the message has the command and what it printed."""


class JobFailed(RuntimeError):
    """A Job reached its Failed condition; the message has its pods' events and logs."""
