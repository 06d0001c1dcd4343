"""The API's OpenAPI document: each endpoint's summary and own answers come from its
docstring (Starlette's SchemaGenerator); what every endpoint shares is added here once: the
path parameters, the conditional headers, the request bodies, and the error answers every
endpoint can give, all JSON {"error": <a sentence>, "details": [...]}."""

from __future__ import annotations

import copy
from typing import Any

from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from site_builder.models import COLLECTIONS, MAX_SLUG, SLUG_PATTERN

GENERATOR = SchemaGenerator(
    {"openapi": "3.0.0", "info": {"title": "Pantau sync API", "version": "1.0"}}
)

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "details": {"type": "array"}},
}

#: Answers any endpoint may give besides its own: a malformed request, no or a refused
#: token, a role that may not, nothing there, a wrong method, too many failed logins, and the
#: server still starting (or a record file it cannot write).
ERRORS = {
    "400": "The request is malformed (a header, parameter or body); the error says which.",
    "401": "No valid token.",
    "403": "The token's role may not do this.",
    "404": "No such record, collection or path.",
    "405": "This path does not take this method.",
    "429": "Too many failed logins from this address; retry after Retry-After seconds.",
    "503": "The server is starting, or cannot write this record's file.",
}

#: Answers of the endpoints that change a record, besides the shared ones.
WRITE_ERRORS = {
    "409": "Stale revision: the body holds the current revision and text.",
    "413": "The body is too large.",
    "415": "Not a content type this endpoint reads.",
    "422": "Invalid content; details are file:line field messages.",
    "428": "Neither If-Match nor If-None-Match was sent.",
}

PATH_PARAMETERS = {
    "collection": {"type": "string", "enum": sorted(COLLECTIONS)},
    "slug": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": MAX_SLUG},
    "name": {"type": "string", "enum": ["regions", "site"]},
}

TEXT = {"schema": {"type": "string"}}
BODIES = {
    ("put", "/api/records/{collection}/{slug}"): {
        "text/markdown": TEXT,
        "application/yaml": TEXT,
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["text"],
                "properties": {"text": {"type": "string"}},
            }
        },
    },
    ("put", "/api/settings/{name}"): {
        "application/yaml": TEXT,
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["text"],
                "properties": {"text": {"type": "string"}},
            }
        },
    },
    ("post", "/api/records/{collection}/{slug}/merge"): {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["base"],
                "properties": {
                    "base": {"type": "integer", "minimum": 1},
                    "fields": {"type": "object"},
                    "text": {"type": "string"},
                },
            }
        }
    },
    ("post", "/api/records/{collection}/{slug}/revert"): {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["revision"],
                "properties": {"revision": {"type": "integer", "minimum": 1}},
            }
        }
    },
    ("post", "/api/assets"): {
        kind: {"schema": {"type": "string", "format": "binary"}}
        for kind in ("image/png", "image/jpeg", "image/webp")
    },
}

CONDITIONS = [
    {"name": "If-Match", "in": "header", "schema": {"type": "string"}},
    {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
]


def api_document(routes: list[BaseRoute]) -> dict[str, Any]:
    """The whole document for these routes."""
    document = copy.deepcopy(GENERATOR.get_schema(routes=routes))
    document.setdefault("components", {})["schemas"] = {"Error": ERROR}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in document.get("paths", {}).items():
        names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        for method, operation in operations.items():
            parameters = operation.setdefault("parameters", [])
            parameters += [
                {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
                for name in names
            ]
            if method in ("put", "delete"):
                parameters += CONDITIONS
            body = BODIES.get((method, path))
            if body is not None:
                description = operation.get("requestBody", {}).get("description", "")
                operation["requestBody"] = {
                    "description": description,
                    "required": True,
                    "content": body,
                }
            else:
                operation.pop("requestBody", None)
            # An endpoint's own answers (from its docstring) are JSON of any shape; the shared
            # errors it does not describe itself are the Error object.
            responses = {str(k): v for k, v in operation.get("responses", {}).items()}
            for answer in responses.values():
                answer.setdefault("content", {"application/json": {"schema": {}}})
            shared = {**ERRORS, **(WRITE_ERRORS if method in ("put", "delete", "post") else {})}
            for status, description in shared.items():
                responses.setdefault(status, {"description": description, "content": error})
            operation["responses"] = responses
    return document
