"""OpenAPI description built from the loaded model's real input schema.

Every route ``create_app`` serves is described with its path parameters, request and response
bodies, and each status it really answers (see ``errors.STATUSES``): this server's routes answer
errors as ``{"error": {"status", "message", "details"}}``, the V1 and V2 protocol routes as
``{"error": "message"}``. A test walks the app's routes and checks the two agree.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ..drift.histograms import FeatureHistogram
from ..inference.predictor import Predictor
from .binary import HEADER, MEDIA_TYPE
from .docs_page import ASSETS
from .tensors import DATATYPES, FLOATS, MAX_RANK, SIGNED, UNSIGNED

_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {"type": "object"},
                    "description": "the first field errors (row, field, message)",
                },
                "omitted": {"type": "integer", "description": "field errors not listed"},
                "request_id": {"type": "string"},
            },
            "required": ["status", "message"],
        }
    },
    "required": ["error"],
}
_PROTOCOL_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
_ERROR_TEXT = {
    400: "malformed JSON, or a body not of the shape the route takes",
    401: "missing or invalid key",
    404: "not found",
    408: "the body did not arrive in time (MLSERVE_SERVER__BODY_TIMEOUT)",
    409: "the reload failed; the previous version is still served",
    413: "body or instance count over the limit",
    422: "a field is missing, unknown, of the wrong type, non-finite, out of range or an unseen "
    "category; or no rows",
    503: "no model loaded yet",
}
_ALLOW_NOTE = (
    " Any other method on a described path is answered 405 with an `Allow` header; an unknown "
    "path 404; an unexpected failure 500 naming the request id (never expected: please report "
    'it). Error bodies are `{"error": {"status", "message", ...}}` on this server\'s routes '
    'and `{"error": "message"}` on the V1 and V2 protocol routes.'
)
_LABEL = {
    "description": "a predicted class (or value, for a regressor)",
    "type": ["string", "number", "integer", "boolean"],
}


def _result_schema(predictor: Predictor | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "label": _LABEL,
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


def _elements(element: dict[str, Any]) -> dict[str, Any]:
    """Tensor data of one element type: flat, or nested like the shape; null marks a missing
    value (accepted where the feature is nullable)."""
    scalar = {"anyOf": [element, {"type": "null"}]}
    return {
        "type": "array",
        "items": {"anyOf": [*scalar["anyOf"], {"type": "array", "items": scalar}]},
    }


def _tensor_schemas(row: dict[str, Any], max_instances: int) -> dict[str, Any]:
    """The V1 and V2 request and response bodies."""
    properties: dict[str, Any] = row.get("properties", {})
    in_order = {
        "type": "array",
        "description": "the feature values in schema order: " + ", ".join(properties),
        "prefixItems": list(properties.values()),
        "minItems": len(properties),
        "maxItems": len(properties),
    }
    tensor_data = {
        "type": "array",
        "description": "the elements, flat in row-major order or nested like the shape",
    }
    by_datatype = [
        {"properties": {"datatype": {"enum": list(kinds)}, "data": _elements(element)}}
        for kinds, element in (
            (("BOOL",), {"type": "boolean"}),
            (UNSIGNED, {"type": "integer", "minimum": 0}),
            (SIGNED, {"type": "integer"}),
            (FLOATS, {"type": "number"}),
            (("BYTES",), {"type": "string"}),
        )
    ]
    request_tensor = {
        "type": "object",
        "description": "one tensor per feature (shape [N] or [N, 1], BYTES for categorical "
        "features) or one [N, n_features] row tensor in schema order (all-numeric models)",
        "properties": {
            "name": {"type": "string"},
            "shape": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0},
                "maxItems": MAX_RANK,
            },
            "datatype": {"type": "string", "enum": list(DATATYPES)},
            "parameters": {"type": "object"},
            "data": tensor_data,
        },
        "required": ["name", "shape", "datatype", "data"],
        "oneOf": by_datatype,
    }
    output_tensor = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"type": "string", "enum": list(DATATYPES)},
            "data": tensor_data,
        },
        "required": ["name", "shape", "datatype", "data"],
    }
    tensor_metadata = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string", "enum": list(DATATYPES)},
            "shape": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["name", "datatype", "shape"],
    }
    return {
        "V1Request": {
            "type": "object",
            "properties": {
                "instances": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_instances,
                    "items": {"oneOf": [{"$ref": "#/components/schemas/Row"}, in_order]},
                }
            },
            "required": ["instances"],
        },
        "V1Response": {
            "type": "object",
            "properties": {"predictions": {"type": "array", "items": _LABEL}},
            "required": ["predictions"],
        },
        "V1Models": {
            "type": "object",
            "properties": {"models": {"type": "array", "items": {"type": "string"}}},
            "required": ["models"],
        },
        "ModelReady": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}},
            "required": ["name", "ready"],
        },
        "V2RequestTensor": request_tensor,
        "V2OutputTensor": output_tensor,
        "V2InferRequest": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "parameters": {"type": "object"},
                "inputs": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/components/schemas/V2RequestTensor"},
                },
                "outputs": {
                    "type": "array",
                    "description": "the outputs wanted (default: all)",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "parameters": {"type": "object"},
                        },
                        "required": ["name"],
                    },
                },
            },
            "required": ["inputs"],
        },
        "V2InferResponse": {
            "type": "object",
            "properties": {
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "id": {"type": "string"},
                "outputs": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/V2OutputTensor"},
                },
            },
            "required": ["model_name", "model_version", "id", "outputs"],
        },
        "V2ServerMetadata": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "extensions": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["name", "version", "extensions"],
        },
        "V2ModelMetadata": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": tensor_metadata},
                "outputs": {"type": "array", "items": tensor_metadata},
            },
            "required": ["name", "versions", "platform", "inputs", "outputs"],
        },
    }


def _shadow_schema() -> dict[str, Any]:
    """``ShadowReport``: the ``/shadow`` document (docs/shadow.md)."""
    number = {"type": ["number", "null"]}
    text = {"type": "string"}
    model = {
        "type": "object",
        "properties": {"name": text, "version": text},
        "required": ["name", "version"],
    }
    challenger = {
        "type": "object",
        "properties": {"name": text, "version": text, "uri": text},
        "required": ["name", "version", "uri"],
    }
    count = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "description": "the challenger's answers compared with the champion's since `since` "
        "(the comparison starts over when either model's version changes)",
        "properties": {
            "enabled": {"type": "boolean"},
            "champion": {"oneOf": [model, {"type": "null"}]},
            "challenger": {"oneOf": [challenger, {"type": "null"}]},
            "challenger_error": {"type": ["string", "null"]},
            "sample_rate": {"type": "number", "minimum": 0, "maximum": 1},
            "queue_size": count,
            "rows_scored": count,
            "rows_dropped": count,
            "errors": count,
            "agreement": number,
            "mean_abs_delta": number,
            "max_abs_delta": number,
            "labels": {
                "type": "object",
                "description": "scored rows by the champion's label, then the challenger's",
                "additionalProperties": {"type": "object", "additionalProperties": count},
            },
            "latency_seconds": {
                "type": "object",
                "properties": {"mean": number, "p50": number, "p99": number},
                "required": ["mean", "p50", "p99"],
            },
            "since": {"type": "string", "format": "date-time"},
        },
        "required": [
            "enabled",
            "champion",
            "challenger",
            "challenger_error",
            "sample_rate",
            "queue_size",
            "rows_scored",
            "rows_dropped",
            "errors",
            "agreement",
            "mean_abs_delta",
            "max_abs_delta",
            "labels",
            "latency_seconds",
            "since",
        ],
    }


def _histogram_schemas() -> dict[str, Any]:
    """``DriftHistograms`` (the list ``/drift?histograms=true`` adds) and its item schemas."""
    schema = TypeAdapter(list[FeatureHistogram]).json_schema(
        ref_template="#/components/schemas/{model}"
    )
    items: dict[str, Any] = schema.pop("$defs")
    schema["description"] = (
        "one entry per feature, in the reference's order: numeric features as counts over "
        "shared bin edges (the reference's sample, the window's non-missing values), "
        "categorical ones as shares of the shown levels among non-missing values"
    )
    return {**items, "DriftHistograms": schema}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(protocol: bool, *codes: int, **text: str) -> dict[str, Any]:
    """Error responses in the body shape of this server's routes or of the protocol routes."""
    schema = _ref("ProtocolError" if protocol else "Error")
    answers: dict[str, Any] = {}
    for code in codes:
        answer = _json(schema, text.get(f"s{code}", _ERROR_TEXT[code]))
        if code == 401:
            answer["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
            }
        answers[str(code)] = answer
    return answers


def _op(operation_id: str, summary: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"operationId": operation_id, "summary": summary, **more, "responses": responses}


def _binary_infer() -> tuple[dict[str, Any], dict[str, Any]]:
    """The V2 infer request body and 200 answer, JSON or framed by the binary tensor extension."""
    raw = {"type": "string", "format": "binary"}
    body = {
        "required": True,
        "description": "The inference request as JSON; or, in the binary tensor data extension, "
        f"sent with the header `{HEADER}: N`: the first N bytes of the body are the JSON "
        "request, in which each input sent in binary has `parameters.binary_data_size` (bytes) "
        "and no `data`, then the raw data of those inputs in the order of `inputs`: "
        "little-endian, row-major, BOOL one byte, each BYTES element a 4-byte little-endian "
        "length then its UTF-8 bytes. Framing that does not add up is answered 400.",
        "content": {
            "application/json": {"schema": _ref("V2InferRequest")},
            MEDIA_TYPE: {"schema": raw},
        },
    }
    answer = {
        "description": "label, probabilities and response fields: as JSON; or, when the request "
        "asks for binary outputs (`parameters.binary_data` on a requested output, or "
        "`parameters.binary_data_output` on the request), the JSON response, in which each such "
        "output has `parameters.binary_data_size` and no `data`, then their raw data",
        "headers": {
            HEADER: {
                "description": "the byte length of the JSON response at the start of a binary "
                "answer (only on those)",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        },
        "content": {
            "application/json": {"schema": _ref("V2InferResponse")},
            MEDIA_TYPE: {"schema": raw},
        },
    }
    return body, answer


def build_openapi(
    predictor: Predictor | None,
    *,
    title: str,
    auth_enabled: bool,
    monitoring_enabled: bool | None = None,
    max_instances: int = 1000,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of this server as it serves ``predictor`` now.

    ``auth_enabled``: API keys are configured (the prediction and admin routes may answer 401).
    ``max_instances``: rows one request may carry (``MLSERVE_SERVER__MAX_INSTANCES``).
    ``monitoring_enabled``: a monitoring token is set (``/metrics``, ``/drift`` and ``/shadow``
    may answer 401); ``None`` when not known, and then they are described as possibly guarded.
    """
    row = predictor.schema.json_schema() if predictor else {"type": "object"}
    example = predictor.schema.example_row() if predictor else {}
    name = predictor.name if predictor else "model"
    security: list[dict[str, list[str]]] = [{"apiKey": []}, {"bearer": []}] if auth_enabled else []
    key = (401,) if auth_enabled else ()
    monitoring_security: list[dict[str, list[str]]]
    if monitoring_enabled is None:
        monitoring_security = [{}, {"bearer": []}, {"apiKey": []}]
    else:
        monitoring_security = [{"bearer": []}, {"apiKey": []}] if monitoring_enabled else []
    watched = () if monitoring_enabled is False else (401,)
    watched_401 = "missing or invalid monitoring token (only when one is set)"

    predict_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _ref("Row"),
                        {
                            "type": "object",
                            "properties": {
                                "instances": {
                                    "type": "array",
                                    "items": _ref("Row"),
                                    "minItems": 1,
                                    "maxItems": max_instances,
                                }
                            },
                            "required": ["instances"],
                            "additionalProperties": False,
                        },
                    ]
                },
                "example": example,
            }
        },
    }
    name_parameter = {
        "name": "name",
        "in": "path",
        "required": True,
        "description": "the served model's name (any other answers 404)",
        "schema": {"type": "string", "example": name},
    }
    version_parameter = {
        "name": "version",
        "in": "path",
        "required": True,
        "description": "the served version (any other answers 404)",
        "schema": {
            "type": "string",
            "example": predictor.version if predictor else "v1",
        },
    }
    ok = {"type": "object"}
    probe = {"200": _json(ok, "OK"), "503": _json(ok, "not yet / no longer")}
    paths: dict[str, Any] = {
        "/predict": {
            "post": _op(
                "predict",
                "Predict one row, or several with {'instances': [...]}",
                {
                    "200": _json(
                        {"oneOf": [_ref("Result"), _ref("Predictions")]},
                        "the prediction of one row, or {'predictions': [...]} for instances",
                    ),
                    **_errors(False, 400, *key, 413, 422, 503),
                },
                security=security,
                requestBody=predict_body,
            )
        },
        "/": {"get": _op("info", "Service information", {"200": _json(ok, "OK")})},
        "/version": {
            "get": _op(
                "version",
                "The served model's version and provenance",
                {"200": _json(ok, "OK"), **_errors(False, 503)},
            )
        },
        "/health": {
            "get": _op("health", "Liveness (includes model_loaded)", {"200": _json(ok, "OK")})
        },
        "/ready": {
            "get": _op("ready", "Readiness: a model is loaded and not shutting down", probe)
        },
        "/startup": {"get": _op("startup", "Startup: the initial load has finished", probe)},
        "/metrics": {
            "get": _op(
                "metrics",
                "Prometheus metrics (monitoring token when set)",
                {
                    "200": {
                        "description": "Prometheus text exposition",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(False, *watched, s401=watched_401),
                },
                security=monitoring_security,
            )
        },
        "/drift": {
            "get": _op(
                "drift",
                "Drift of recent inputs (monitoring token when set)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"histograms": _ref("DriftHistograms")},
                        },
                        "the drift report of this replica's window; with histograms=true also "
                        "`histograms`",
                    ),
                    **_errors(
                        False,
                        *watched,
                        404,
                        422,
                        503,
                        s401=watched_401,
                        s404="drift detection is disabled, or unavailable for this version",
                        s422="histograms is neither true nor false",
                    ),
                },
                security=monitoring_security,
                parameters=[
                    {
                        "name": "histograms",
                        "in": "query",
                        "required": False,
                        "description": "also return, per feature, the reference and current "
                        "distributions the HTML report plots",
                        "schema": {"type": "boolean", "default": False},
                    }
                ],
            )
        },
        "/shadow": {
            "get": _op(
                "shadow",
                "The challenger compared with the served model (monitoring token when set)",
                {
                    "200": _json(_ref("ShadowReport"), "the shadow scoring report"),
                    **_errors(False, *watched, s401=watched_401),
                },
                security=monitoring_security,
            )
        },
        "/openapi.json": {
            "get": _op("openapi", "This document", {"200": _json(ok, "OpenAPI 3.1")})
        },
        "/docs": {
            "get": _op(
                "docs",
                "Interactive API documentation (Swagger UI over this document)",
                {
                    "200": {
                        "description": "HTML",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            )
        },
        "/docs/static/{name}": {
            "get": _op(
                "docsAsset",
                "A static file of the documentation page, served by this server",
                {
                    "200": {
                        "description": "the file (cached for a day)",
                        "content": {
                            media: {"schema": {"type": "string", "format": "binary"}}
                            for media in sorted(set(ASSETS.values()))
                        },
                    },
                    **_errors(False, 404, s404="no such file"),
                },
                parameters=[
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "description": "a file of the page (any other answers 404)",
                        "schema": {"type": "string", "enum": list(ASSETS)},
                    }
                ],
            )
        },
        "/admin/reload": {
            "post": _op(
                "reload",
                "Load the source's current model version now",
                {
                    "200": _json(_ref("ReloadStatus"), "the reload succeeded"),
                    "409": _json(_ref("ReloadStatus"), _ERROR_TEXT[409]),
                    **_errors(False, *key),
                },
                security=security,
            )
        },
        "/v1/models": {
            "get": _op(
                "v1ListModels",
                "KServe V1: the served models",
                {"200": _json(_ref("V1Models"), "OK")},
            )
        },
    }
    v1_model = "/v1/models/{name}"
    paths[v1_model] = {
        "get": _op(
            "v1ModelReady",
            "KServe V1: model readiness",
            {"200": _json(_ref("ModelReady"), "OK"), **_errors(True, 404, 503)},
            parameters=[name_parameter],
        )
    }
    paths[v1_model + ":predict"] = {
        "post": _op(
            "v1Predict",
            "KServe V1: {'instances': [...]} in, {'predictions': [...]} out",
            {
                "200": _json(_ref("V1Response"), "one label per instance"),
                **_errors(True, 400, *key, 404, 413, 422, 503),
            },
            parameters=[name_parameter],
            security=security,
            requestBody={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _ref("V1Request"),
                        "example": {"instances": [example]},
                    }
                },
            },
        )
    }
    paths["/v2"] = {
        "get": _op(
            "v2ServerMetadata",
            "V2: server metadata",
            {"200": _json(_ref("V2ServerMetadata"), "OK")},
        )
    }
    paths["/v2/health/live"] = {
        "get": _op(
            "v2ServerLive",
            "V2: liveness",
            {"200": _json({"type": "object", "properties": {"live": {"type": "boolean"}}}, "OK")},
        )
    }
    ready_body = {"type": "object", "properties": {"ready": {"type": "boolean"}}}
    paths["/v2/health/ready"] = {
        "get": _op(
            "v2ServerReady",
            "V2: readiness",
            {
                "200": _json(ready_body, "a model is served"),
                "503": _json(ready_body, "no model yet, or shutting down"),
            },
        )
    }
    infer_body, infer_answer = _binary_infer()
    framing_parameter = {
        "name": HEADER,
        "in": "header",
        "required": False,
        "description": "binary tensor data extension: the byte length of the JSON request at "
        "the start of the body",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
    for prefix, suffix, parameters in (
        ("/v2/models/{name}", "", [name_parameter]),
        ("/v2/models/{name}/versions/{version}", "Version", [name_parameter, version_parameter]),
    ):
        paths[prefix] = {
            "get": _op(
                "v2ModelMetadata" + suffix,
                "V2: model metadata (input and output tensors)",
                {"200": _json(_ref("V2ModelMetadata"), "OK"), **_errors(True, 404, 503)},
                parameters=parameters,
            )
        }
        paths[prefix + "/ready"] = {
            "get": _op(
                "v2ModelReady" + suffix,
                "V2: model readiness",
                {
                    "200": _json(_ref("ModelReady"), "ready"),
                    **_errors(True, 404),
                    "503": _json(
                        {"anyOf": [_ref("ModelReady"), _ref("ProtocolError")]},
                        "no model loaded yet, or shutting down",
                    ),
                },
                parameters=parameters,
            )
        }
        paths[prefix + "/infer"] = {
            "post": _op(
                "v2Infer" + suffix,
                "Open Inference Protocol (V2): named tensors in, tensors out",
                {"200": infer_answer, **_errors(True, 400, *key, 404, 413, 422, 503)},
                parameters=[*parameters, framing_parameter],
                security=security,
                requestBody=infer_body,
            )
        }
    result = _result_schema(predictor)
    schemas: dict[str, Any] = {
        "Row": row,
        "Result": result,
        "Predictions": {
            "type": "object",
            "properties": {
                "predictions": {"type": "array", "items": _ref("Result")},
                "model_version": {"type": "string"},
            },
            "required": ["predictions", "model_version"],
        },
        "ReloadStatus": {
            "type": "object",
            "properties": {
                "ok": {"type": "boolean"},
                "message": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
            },
            "required": ["ok", "message", "at"],
        },
        "Error": _ERROR,
        "ProtocolError": _PROTOCOL_ERROR,
        "ShadowReport": _shadow_schema(),
        **_histogram_schemas(),
        **_tensor_schemas(row, max_instances),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": predictor.version if predictor else "unloaded",
            "description": f"Predictions from {name}." + _ALLOW_NOTE,
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
