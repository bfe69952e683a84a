"""What the server lifecycle owns, reachable from every route through ``request.app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from ..inference.manager import ModelManager
from ..settings import Settings
from .auth import KeyChecker
from .drift import DriftMonitor
from .metrics import ServerMetrics


@dataclass
class ServerState:
    """Settings, the model manager, auth, metrics and the drift monitor of one app instance."""

    settings: Settings
    manager: ModelManager
    api_keys: KeyChecker
    monitoring: KeyChecker
    metrics: ServerMetrics
    drift: DriftMonitor
    shutting_down: bool = False

    def begin_shutdown(self) -> None:
        """Stop admitting traffic: readiness fails from now on."""
        self.shutting_down = True


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.mlserve
    return state
