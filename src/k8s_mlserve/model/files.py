"""Files and directories a registry is made of: readable by the server, durable once renamed.

Everything is created with mode 0644 (files) or 0755 (directories) masked by the process umask,
so a publisher running as another user than the server still writes a registry the server can
read; a publisher that wants to keep other users out sets ``umask 027``. Data is fsynced before
the rename that publishes it and the parent directory after, so a crash leaves the old state or
the new one. Leftovers of a killed writer are removed once they are old enough that no live
writer can still be using them.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("k8s_mlserve.model")

FILE_MODE = 0o644
DIR_MODE = 0o755
# Staging debris younger than this may belong to a publisher still at work.
STALE_AFTER_SECONDS = 600.0


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A new directory ``parent/<prefix><random>``, mode 0755 masked by the umask."""
    for _ in range(100):
        candidate = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            os.mkdir(candidate, DIR_MODE)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free name for a temporary directory {prefix}* in {parent}")


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: a fsynced 0644 sibling renamed over it."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"no free name for a temporary file beside {path}")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` (e.g. a rename into it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file under ``root``, then every directory, deepest first."""
    for current, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            fd = os.open(Path(current) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(current))


def remove_stale(
    paths: Iterable[Path], *, max_age: float = STALE_AFTER_SECONDS, now: float | None = None
) -> list[Path]:
    """Remove the ``paths`` (files or trees) nothing under which changed for ``max_age`` s."""
    cutoff = (time.time() if now is None else now) - max_age
    removed = []
    for path in paths:
        try:
            if _newest_mtime(path) > cutoff:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:  # another publisher cleaned it first
            continue
        except OSError as exc:
            log.warning("could not remove staging debris %s: %s", path, exc)
            continue
        log.info("removed staging debris %s left by an interrupted publish", path)
        removed.append(path)
    return removed


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for current, dirs, files in os.walk(path):
            for name in (*dirs, *files):
                try:
                    newest = max(newest, (Path(current) / name).lstat().st_mtime)
                except FileNotFoundError:
                    continue
    return newest
