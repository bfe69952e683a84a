"""The request log: one JSON line per predicted row, rotated by size, read back for drift checks.

Each line is ``{"ts", "features", "prediction", "score", "model_version"}``: the validated input
row, never headers, keys or tokens. Each process writes its own file, ``requests-<host>.jsonl``
by default (the pod name in Kubernetes), so replicas sharing a volume never interleave or rotate
each other's files; rotated files are ``<name>.jsonl.1`` (newest) to ``<name>.jsonl.<backups>``.
Lines of other records carry a ``type`` (``log_record``; e.g. ``"shadow"``, a challenger's
answers beside the champion's) and are passed over when rows are read back.

Logging must never fail a prediction: I/O errors are counted and reported through the standard
``logging`` module, at most once per hundred failures.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from ..errors import DatasetError

if TYPE_CHECKING:  # the writer runs in the server, which needs no pandas
    import pandas as pd

logger = logging.getLogger(__name__)

SUFFIX = ".jsonl"
_REPORT_EVERY = 100


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RequestLogger:
    """Appends predicted rows as JSON lines to ``<directory>/<name>.jsonl``, rotating by size."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_bytes: int = 10 * 1024 * 1024,
        backups: int = 5,
        *,
        name: str | None = None,
        clock: Callable[[], str] = _utc_now,
    ) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        if backups < 0:
            raise ValueError(f"backups must be zero or more, got {backups}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.backups = backups
        self.path = self.directory / f"{name or 'requests-' + _host()}{SUFFIX}"
        self._clock = clock
        self._lock = threading.Lock()
        self._handle: IO[bytes] | None = None
        self._size = 0
        self._errors = 0
        self._written = 0

    @property
    def errors(self) -> int:
        """Batches that could not be written."""
        return self._errors

    @property
    def written(self) -> int:
        """Rows written so far."""
        return self._written

    def log(
        self,
        rows: Sequence[Mapping[str, Any]],
        labels: Sequence[Any],
        scores: Sequence[float | None] | None = None,
        model_version: str | None = None,
    ) -> bool:
        """Append one line per row; returns False (and counts an error) when writing failed."""
        try:
            ts = self._clock()
            data = b"".join(
                orjson.dumps(
                    {
                        "ts": ts,
                        "features": row,
                        "prediction": label,
                        "score": score,
                        "model_version": model_version,
                    },
                    option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY,
                )
                for row, label, score in zip(
                    rows, labels, scores if scores is not None else [None] * len(rows), strict=True
                )
            )
            with self._lock:
                self._write(data)
                self._written += len(rows)
        except (OSError, TypeError, ValueError) as exc:
            # orjson.JSONEncodeError is a TypeError; zip(strict=True) raises ValueError.
            self._failed(exc)
            return False
        return True

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self._errors += 1
            count = self._errors
            self._close()
        if count == 1 or count % _REPORT_EVERY == 0:
            logger.warning("request log %s: write failed (%d so far): %s", self.path, count, exc)

    def log_record(self, record: Mapping[str, Any]) -> bool:
        """Append one line holding ``record`` (with its ``type`` and the time); False on failure."""
        if "type" not in record:
            raise ValueError("a record needs a 'type', which tells it from a row's line")
        try:
            data = orjson.dumps(
                {"type": record["type"], "ts": self._clock(), **record},
                option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY,
            )
            with self._lock:
                self._write(data)
        except (OSError, TypeError) as exc:
            self._failed(exc)
            return False
        return True

    def close(self) -> None:
        """Close the file; a later ``log`` opens it again."""
        with self._lock:
            self._close()

    def __enter__(self) -> RequestLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _write(self, data: bytes) -> None:
        handle = self._handle or self._open()
        if self._size > 0 and self._size + len(data) > self.max_bytes:
            self._rotate()
            handle = self._open()
        handle.write(data)
        handle.flush()
        self._size += len(data)

    def _open(self) -> IO[bytes]:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        self._handle = handle
        self._size = handle.tell()
        return handle

    def _rotate(self) -> None:
        self._close()
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
            return
        for index in range(self.backups - 1, 0, -1):
            older = self._backup(index)
            if older.exists():
                os.replace(older, self._backup(index + 1))
        os.replace(self.path, self._backup(1))

    def _backup(self, index: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{index}")

    def _close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()


@dataclass(frozen=True)
class RequestLogData:
    """Rows read back from a request log, oldest first."""

    frame: pd.DataFrame
    labels: list[Any]
    scores: list[float]
    files: int
    skipped_lines: int


def log_files(directory: str | os.PathLike[str]) -> list[Path]:
    """Every current and rotated log file in ``directory``, oldest first for each writer."""
    found: list[tuple[str, int, Path]] = []
    for path in Path(directory).iterdir():
        if not path.is_file():
            continue
        if path.name.endswith(SUFFIX):
            found.append((path.name, 0, path))
        elif SUFFIX + "." in path.name and path.suffix[1:].isdigit():
            found.append((path.name[: -len(path.suffix)], -int(path.suffix[1:]), path))
    return [path for _, _, path in sorted(found)]


def read_request_log(
    directory: str | os.PathLike[str],
    *,
    max_rows: int | None = None,
    model_version: str | None = None,
) -> RequestLogData:
    """Read every log file in ``directory`` into one frame, in time order.

    ``max_rows`` keeps only the most recent rows; ``model_version`` keeps only the rows that
    version predicted. Lines that are not complete records (a write cut short) are skipped.
    """
    import pandas as pd

    if not Path(directory).is_dir():
        raise DatasetError(f"request log directory {directory} does not exist")
    files = log_files(directory)
    records: list[dict[str, Any]] = []
    skipped = 0
    for path in files:
        with path.open("rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    skipped += 1
                    continue
                if isinstance(record, dict) and "type" in record:
                    continue  # another kind of record (e.g. a shadow comparison), not a row
                if not isinstance(record, dict) or not isinstance(record.get("features"), dict):
                    skipped += 1
                    continue
                if model_version is not None and record.get("model_version") != model_version:
                    continue
                records.append(record)
    records.sort(key=lambda r: str(r.get("ts", "")))
    if max_rows is not None:
        records = records[-max_rows:] if max_rows > 0 else []
    return RequestLogData(
        frame=pd.DataFrame.from_records([r["features"] for r in records]),
        labels=[r["prediction"] for r in records if r.get("prediction") is not None],
        scores=[float(r["score"]) for r in records if isinstance(r.get("score"), (int, float))],
        files=len(files),
        skipped_lines=skipped,
    )


def _host() -> str:
    name = os.environ.get("HOSTNAME") or socket.gethostname() or "local"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
