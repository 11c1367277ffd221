"""The OpenAPI document and the interactive documentation page.

GET /api/V1/openapi.json answers the document built from the routes'
`@operation` records (built once, on first request, when every blueprint is
registered). GET /docs is Swagger UI, served by the gateway itself from the
swagger-ui-py package (its scripts and styles under /static/swagger-ui/, no
third-party host, a Content-Security-Policy that says so): it renders the
document, its markdown included, shows each operation's schemas and lets a reader
try any operation with an API key (`X-API-Key`) or the admin token (Bearer).
"""

from __future__ import annotations

from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from quart import Blueprint, Response, current_app, jsonify

from api.openapi import Answer, build_document, operation

bp = Blueprint("docs", __name__)


def _package_folder(name: str) -> Path:
    """Where an installed package's files are, found without running the package
    (swagger-ui-py's own code, which loads PyYAML and its page templates, ~4.6 MB,
    is never needed: only its static files are served)."""
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the {name} package is not installed", name=name)
    return Path(next(iter(spec.submodule_search_locations)))


swagger_ui = Blueprint(
    "swagger_ui", __name__,
    static_folder=str(_package_folder("swagger_ui") / "static"),
    static_url_path="/static/swagger-ui",
)
"""Swagger UI's own files (swagger-ui-bundle.js, swagger-ui.css), as the package ships them."""

DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


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


@bp.get("/docs")
@operation(
    "Documentation interactive",
    tag="Exploitation",
    description="Swagger UI, servi par la passerelle : ce document rendu (textes, schémas de "
    "chaque opération), et « Try it out » pour essayer chaque opération avec votre clé API "
    "ou le jeton d'administration (bouton « Authorize »).",
    responses={200: Answer("La page.", None, media_type="text/html")},
)
async def docs_page() -> Response:
    page = resources.files("api").joinpath("templates", "docs.html").read_text(encoding="utf-8")
    response = Response(page, status=200, content_type="text/html; charset=utf-8")
    response.headers.update(DOCS_HEADERS)
    return response
