"""The HTTP server: a Starlette app around the inference core."""

from .app import create_app
from .run import serve

__all__ = ["create_app", "serve"]
