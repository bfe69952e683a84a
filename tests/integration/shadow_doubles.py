"""Challengers that misbehave, for tests/integration/test_shadow.py.

They are pickled into bundles, so the serving process must import this module by the same name:
the test puts this directory on its ``PYTHONPATH``. Once unpickled, a ``Misbehaving`` model
answers its first call (the server's warm-up) and then fails every call, or waits for a gate
file to exist before answering. Before pickling (while the bundle is written) it behaves.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


class Misbehaving:
    """A fitted classifier that, once unpickled, fails (``gate`` None) or waits for ``gate``."""

    def __init__(self, model: Any, gate: Path | None = None) -> None:
        self.model = model
        self.classes_ = model.classes_
        self.gate = gate
        self._calls: int | None = None  # None: not unpickled, never misbehaves

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._calls = 0

    def _misbehave(self) -> None:
        if self._calls is None:
            return
        self._calls += 1
        if self._calls == 1:
            return  # the warm-up
        if self.gate is None:
            raise RuntimeError("this challenger fails on every row")
        for _ in range(2400):  # at most two minutes, so that a failed test never hangs here
            if self.gate.exists():
                return
            time.sleep(0.05)

    def predict_proba(self, frame: Any) -> Any:
        self._misbehave()
        return self.model.predict_proba(frame)

    def predict(self, frame: Any) -> Any:
        self._misbehave()
        return self.model.predict(frame)
