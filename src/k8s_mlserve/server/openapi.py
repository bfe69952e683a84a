"""OpenAPI description built from the loaded model's real input schema, and a docs page."""

from __future__ import annotations

import html
import json
from typing import Any

from ..inference.predictor import Predictor

_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}


def _result_schema(predictor: Predictor | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "label": {"description": "the predicted class (or value, for a regressor)"},
        "probabilities": {
            "type": "object",
            "additionalProperties": {"type": "number"},
            "description": "probability of each class",
        },
        "model_version": {"type": "string"},
    }
    spec = predictor.metadata.response if predictor else None
    if spec is not None:
        if spec.flag_field:
            props[spec.flag_field] = {
                "type": "boolean",
                "description": f"label == {spec.positive_class}",
            }
        if spec.probability_field:
            props[spec.probability_field] = {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": f"probability of {spec.positive_class}",
            }
        if spec.risk_field:
            props[spec.risk_field] = {"type": "string", "enum": list(spec.labels)}
    return {"type": "object", "properties": props, "required": ["label", "model_version"]}


def build_openapi(predictor: Predictor | None, *, title: str, auth_enabled: bool) -> dict[str, Any]:
    """The OpenAPI 3.1 document of this server as it serves ``predictor`` now."""
    row = predictor.schema.json_schema() if predictor else {"type": "object"}
    example = predictor.schema.example_row() if predictor else {}
    result = _result_schema(predictor)
    errors = {
        str(code): {"description": text, "content": {"application/json": {"schema": _ERROR}}}
        for code, text in (
            (400, "malformed JSON"),
            (401, "missing or invalid API key"),
            (413, "body or instance count over the limit"),
            (
                422,
                "a field is missing, unknown, of the wrong type, non-finite or an unseen category",
            ),
            (503, "no model loaded"),
        )
    }
    security: list[dict[str, list[str]]] = [{"apiKey": []}, {"bearer": []}] if auth_enabled else []
    predict = {
        "post": {
            "summary": "Predict one row, or several with {'instances': [...]}",
            "security": security,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/Row"},
                                {
                                    "type": "object",
                                    "properties": {
                                        "instances": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Row"},
                                        }
                                    },
                                    "required": ["instances"],
                                },
                            ]
                        },
                        "example": example,
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "the prediction (or {'predictions': [...]} for instances)",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Result"}}
                    },
                },
                **errors,
            },
        }
    }
    simple = {"200": {"description": "OK"}}
    probe = {"200": {"description": "OK"}, "503": {"description": "not yet / no longer"}}
    paths: dict[str, Any] = {
        "/predict": predict,
        "/": {"get": {"summary": "Service information", "responses": simple}},
        "/version": {
            "get": {"summary": "The served model's version and provenance", "responses": simple}
        },
        "/health": {"get": {"summary": "Liveness (includes model_loaded)", "responses": simple}},
        "/ready": {
            "get": {
                "summary": "Readiness: a model is loaded and not shutting down",
                "responses": probe,
            }
        },
        "/startup": {
            "get": {"summary": "Startup: the initial load has finished", "responses": probe}
        },
        "/drift": {
            "get": {
                "summary": "Drift of recent inputs (monitoring token when set)",
                "responses": simple,
            }
        },
        "/admin/reload": {
            "post": {
                "summary": "Load the source's current model version now",
                "security": security,
                "responses": simple,
            }
        },
        "/v2/models/{name}/infer": {
            "post": {
                "summary": "Open Inference Protocol (V2): named tensors in, tensors out",
                "security": security,
                "responses": simple,
            }
        },
        "/v1/models/{name}:predict": {
            "post": {
                "summary": "KServe V1: {'instances': [...]} in, {'predictions': [...]} out",
                "security": security,
                "responses": simple,
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (monitoring token when set)",
                "responses": simple,
            }
        },
    }
    name = predictor.name if predictor else "model"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": predictor.version if predictor else "unloaded",
            "description": f"Predictions from {name}.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Row": row, "Result": result},
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def render_docs(document: dict[str, Any]) -> str:
    """A self-contained HTML page (works without internet access, e.g. inside a cluster)."""
    esc = html.escape
    info = document["info"]
    row = document["components"]["schemas"]["Row"]
    fields = []
    for name, prop in row.get("properties", {}).items():
        kind = prop.get("type") or " | ".join(p.get("type", "") for p in prop.get("anyOf", []))
        allowed = ", ".join(map(str, prop.get("enum", []))) or prop.get("description", "")
        if "anyOf" in prop:
            inner = prop["anyOf"][0]
            allowed = ", ".join(map(str, inner.get("enum", []))) or prop.get("description", "")
        fields.append(
            f"<tr><td><code>{esc(name)}</code></td><td>{esc(str(kind))}</td><td>{esc(allowed)}</td></tr>"
        )
    routes = []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            routes.append(
                f"<tr><td>{method.upper()}</td><td><code>{esc(path)}</code></td><td>{esc(op.get('summary', ''))}</td></tr>"
            )
    example = json.dumps(
        document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"][
            "example"
        ],
        indent=2,
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(info["title"])}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
pre{{background:#f4f4f4;padding:1em;overflow:auto}}</style></head><body>
<h1>{esc(info["title"])} <small>{esc(info["version"])}</small></h1>
<p>{esc(info["description"])} The machine-readable description is at <a href="/openapi.json">/openapi.json</a>.</p>
<h2>Endpoints</h2><table><tr><th>method</th><th>path</th><th>what</th></tr>{"".join(routes)}</table>
<h2>Input fields of <code>POST /predict</code></h2>
<table><tr><th>field</th><th>type</th><th>allowed / seen in training</th></tr>{"".join(fields)}</table>
<h2>Example</h2><pre>curl -X POST http://HOST/predict -H 'Content-Type: application/json' -H 'X-API-Key: $API_KEY' \\
  -d '{esc(json.dumps(json.loads(example)))}'</pre>
</body></html>"""
