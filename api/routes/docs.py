"""The OpenAPI document and the interactive documentation page.

GET /api/V1/openapi.json answers the document built from the routes'
`@operation` records (built once, on first request, when every blueprint is
registered). GET /docs is a self-contained page (its script, api/static/docs.js, is
served by the application itself, no third-party host): it renders the document and lets a
reader try any operation with their own key.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from quart import Blueprint, Response, current_app, jsonify

from api.openapi import Answer, build_document, operation

bp = Blueprint("docs", __name__)


def document() -> dict[str, Any]:
    cached: dict[str, Any] | None = current_app.extensions.get("openapi")
    if cached is None:
        cached = build_document(current_app, current_app.extensions["settings"])
        current_app.extensions["openapi"] = cached
    return cached


@bp.get("/api/V1/openapi.json")
@operation(
    "Document OpenAPI 3.1",
    tag="Exploitation",
    description="Ce document : le contrat de l'API, produit à partir des définitions qui "
    "valident les requêtes.",
    responses={200: Answer("Le document OpenAPI.", {"type": "object", "required": ["openapi"]})},
)
async def openapi_json() -> Response:
    return jsonify(document())


def _asset(name: str) -> str:
    return resources.files("api").joinpath("static", name).read_text(encoding="utf-8")


@bp.get("/docs")
@operation(
    "Documentation interactive",
    tag="Exploitation",
    description="Page HTML qui présente ce document et permet d'essayer chaque opération.",
    responses={200: Answer("La page.", None, media_type="text/html")},
)
async def docs_page() -> Response:
    return Response(_asset("docs.html"), status=200, content_type="text/html; charset=utf-8")
