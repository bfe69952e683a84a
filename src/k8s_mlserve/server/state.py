"""What the server lifecycle owns, reachable from every route through ``request.app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from ..inference.manager import ModelManager
from ..settings import Settings
from .auth import KeyChecker
from .drift import DriftMonitor
from .metrics import ServerMetrics
from .shadow import ShadowMonitor


@dataclass
class ServerState:
    """Settings, the model manager, auth, metrics, drift and shadow scoring of one app instance."""

    settings: Settings
    manager: ModelManager
    api_keys: KeyChecker
    monitoring: KeyChecker
    metrics: ServerMetrics
    drift: DriftMonitor
    shadow: ShadowMonitor
    shutting_down: bool = False

    def begin_shutdown(self) -> None:
        """Stop admitting traffic: readiness fails from now on."""
        self.shutting_down = True


SCOPE_KEY = "k8s_mlserve.state"
"""Where ``edge.Edge`` puts the ``ServerState`` in each request's scope."""


def server_state(request: Request) -> ServerState:
    """The state of the app serving ``request`` (from its scope, else from the app)."""
    state: ServerState | None = request.scope.get(SCOPE_KEY)
    if state is None:
        state = request.app.state.mlserve
    return state
