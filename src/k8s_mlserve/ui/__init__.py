"""A web page for people who are not engineers, built for any running server from its API.

``client`` talks to the server and turns its failures into sentences, ``form`` builds the input
form from the server's OpenAPI description, ``answers`` reads predictions and batches, ``drift``
turns the drift answer into charts, and ``app.py`` is the Streamlit script ``k8s-mlserve ui``
runs. Only ``app.py`` imports Streamlit (and Altair, which comes with it).
"""

from __future__ import annotations

from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")

__all__ = ["APP_PATH"]
