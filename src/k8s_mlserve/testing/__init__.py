"""Test helpers for model projects: run a real server, wait for conditions, talk to it."""

from .server import ServerProcess, free_port, wait_for

__all__ = ["ServerProcess", "free_port", "wait_for"]
