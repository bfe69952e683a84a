"""Reading training data from a local path, a directory of datasets, or a URL (with progress)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import DatasetError

if TYPE_CHECKING:  # httpx is imported by a download, not by every training run
    import httpx

DATA_DIR_ENV = "K8S_MLSERVE_DATA_DIR"
CACHE_DIR_ENV = "K8S_MLSERVE_CACHE_DIR"


def resolve_dataset(source: str | None, *, filename: str, url: str) -> str:
    """Where to read a dataset from.

    ``source`` may be a file, a directory holding ``filename``, or a URL. Without it, a directory
    named by ``$K8S_MLSERVE_DATA_DIR`` is used when it holds the file, else the canonical ``url``.
    """
    if source is None:
        data_dir = os.environ.get(DATA_DIR_ENV)
        if data_dir and (Path(data_dir) / filename).is_file():
            return str(Path(data_dir) / filename)
        return url
    if source.startswith(("http://", "https://")):
        return source
    path = Path(source)
    if path.is_dir():
        path = path / filename
    if not path.is_file():
        raise DatasetError(
            f"dataset file {path} does not exist (pass a CSV path, a directory or a URL)"
        )
    return str(path)


def read_csv(location: str, *, required: list[str], filename: str | None = None) -> pd.DataFrame:
    """Read a CSV (downloading it once if ``location`` is a URL) and check its columns.

    ``filename`` is the name ``$K8S_MLSERVE_DATA_DIR`` would hold the file under.
    """
    if location.startswith(("http://", "https://")):
        path = download(location, filename=filename)
    else:
        path = Path(location)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {location} as CSV: {exc}") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DatasetError(f"{location} lacks the column(s) {missing}; found {list(frame.columns)}")
    return frame


def download(
    url: str, *, filename: str | None = None, transport: httpx.BaseTransport | None = None
) -> Path:
    """Download ``url`` into the cache (once), printing progress to stderr.

    A failed download says how to train without the network: ``--data PATH``, or the file
    (``filename``, else the URL's last part) in the directory ``$K8S_MLSERVE_DATA_DIR`` names.
    """
    import httpx

    cache = Path(os.environ.get(CACHE_DIR_ENV, Path.home() / ".cache" / "k8s-mlserve")) / "datasets"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / (hashlib.sha256(url.encode()).hexdigest()[:16] + "-" + Path(url).name)
    if target.is_file():
        return target
    partial = target.with_suffix(target.suffix + ".part")
    try:
        with (
            httpx.Client(transport=transport, follow_redirects=True, timeout=30.0) as client,
            client.stream("GET", url) as response,
        ):
            response.raise_for_status()
            total = int(response.headers.get("content-length", 0))
            done = 0
            with partial.open("wb") as handle:
                for chunk in response.iter_bytes(65536):
                    handle.write(chunk)
                    done += len(chunk)
                    shown = f"{done / 1e6:.1f} MB" + (f" / {total / 1e6:.1f} MB" if total else "")
                    print(f"\rdownloading {url}: {shown}", end="", file=sys.stderr)
        print(file=sys.stderr)
    except httpx.HTTPError as exc:
        partial.unlink(missing_ok=True)
        name = filename or Path(url).name
        raise DatasetError(
            f"cannot download {url}: {exc}; to train without the network, pass --data PATH with "
            f"a local copy of the file, or save it as {name} in a directory named by the "
            f"{DATA_DIR_ENV} environment variable"
        ) from exc
    os.replace(partial, target)
    return target
