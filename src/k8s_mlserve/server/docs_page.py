"""The interactive API page at ``/docs``: Swagger UI over ``/openapi.json``.

Swagger UI's files come from the ``swagger-ui-py`` package and are served by this server itself
under ``/docs/static/{name}`` (never from a CDN), so the page works without internet access, e.g.
inside a cluster. Only the files named in ``ASSETS`` are served. Without JavaScript the page
still lists the input fields and a ``curl`` example.
"""

from __future__ import annotations

import functools
import html
import importlib.metadata
import importlib.util
import json
import shlex
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, NotFoundError

STATIC_PREFIX = "/docs/static/"
ASSETS: dict[str, str] = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
"""The files of Swagger UI the page uses, by name, with their media types."""
CACHE_CONTROL = "public, max-age=86400"
"""For the assets: their URLs carry the package version, so an upgrade is fetched anew."""
_PACKAGE = "swagger-ui-py"


@functools.cache
def _static_dir() -> Path:
    # find_spec locates the package without running its __init__ (which imports its web
    # framework adapters): only its static files are used.
    spec = importlib.util.find_spec("swagger_ui")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ConfigurationError(f"the {_PACKAGE} package is not installed; pip install {_PACKAGE}")
    return Path(locations[0]) / "static"


@functools.cache
def assets_version() -> str:
    """The installed ``swagger-ui-py`` version, appended to asset URLs to bust caches."""
    try:
        return importlib.metadata.version(_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ConfigurationError(
            f"the {_PACKAGE} package is not installed; pip install {_PACKAGE}"
        ) from None


def asset(name: str) -> tuple[Path, str]:
    """The file and media type of the asset ``name``; ``NotFoundError`` for any other name."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFoundError(f"no documentation asset {name!r}; known: {', '.join(ASSETS)}")
    path = _static_dir() / name
    if not path.is_file():
        raise ConfigurationError(f"{path} is missing: reinstall {_PACKAGE}")
    return path, media_type


def _url(name: str) -> str:
    return f"{STATIC_PREFIX}{name}?v={assets_version()}"


def _fields(document: dict[str, Any]) -> str:
    esc = html.escape
    rows = []
    row = document["components"]["schemas"]["Row"]
    for name, prop in row.get("properties", {}).items():
        kind = prop.get("type") or " | ".join(p.get("type", "") for p in prop.get("anyOf", []))
        allowed = ", ".join(map(str, prop.get("enum", []))) or prop.get("description", "")
        if "anyOf" in prop:
            inner = prop["anyOf"][0]
            allowed = ", ".join(map(str, inner.get("enum", []))) or prop.get("description", "")
        rows.append(
            f"<tr><td><code>{esc(name)}</code></td><td>{esc(str(kind))}</td>"
            f"<td>{esc(allowed)}</td></tr>"
        )
    return "".join(rows)


def curl_example(document: dict[str, Any], base_url: str) -> str:
    """A ``curl`` command for ``POST /predict`` that works when pasted into a POSIX shell.

    The key is read from ``$API_KEY`` (in double quotes, so that the shell expands it), and the
    header is left out when the server takes no key.
    """
    predict = document["paths"]["/predict"]["post"]
    example = predict["requestBody"]["content"]["application/json"]["example"]
    parts = ["curl", "-X", "POST", shlex.quote(base_url.rstrip("/") + "/predict")]
    parts += ["-H", shlex.quote("Content-Type: application/json")]
    if predict.get("security"):
        parts += ["-H", '"X-API-Key: $API_KEY"']
    parts += ["-d", shlex.quote(json.dumps(example))]
    return " ".join(parts)


def render_docs(document: dict[str, Any], *, base_url: str) -> str:
    """The ``/docs`` page: Swagger UI loading ``/openapi.json``, with a no-script summary.

    ``base_url``: where the reader reaches this server, for the ``curl`` example.
    """
    esc = html.escape
    info = document["info"]
    title = esc(info["title"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{_url("swagger-ui.css")}">
<link rel="icon" type="image/png" sizes="32x32" href="{_url("favicon-32x32.png")}">
<link rel="icon" type="image/png" sizes="16x16" href="{_url("favicon-16x16.png")}">
</head><body>
<div id="swagger-ui"></div>
<noscript>
<h1>{title} <small>{esc(info["version"])}</small></h1>
<p>{esc(info["description"])} The machine-readable description is at
<a href="/openapi.json">/openapi.json</a>; this page is interactive with JavaScript on.</p>
<h2>Input fields of <code>POST /predict</code></h2>
<table><tr><th>field</th><th>type</th><th>allowed / seen in training</th></tr>
{_fields(document)}</table>
<h2>Example</h2><pre>{esc(curl_example(document, base_url))}</pre>
</noscript>
<script src="{_url("swagger-ui-bundle.js")}"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
</script>
</body></html>
"""
