"""The client's own account: /api/V1/compte (contract sections 5 and 12).

The account, its keys (several, named, at most `MAX_KEYS` live; each revoked at
once), and its opt-out list (numbers never served: a recipient on it ends ECHEC /
DESINSCRIT, not charged).
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from api import views
from api.deps import client_account, gateway
from api.http import jsonify_status, valid_body, valid_query
from api.models import answers
from api.models.requests import AddOptOuts, CreateKey
from api.openapi import PAGE_BY_ID, Answer, Security, operation
from engine.gateway import MAX_KEYS

bp = Blueprint("compte", __name__, url_prefix="/api/V1/compte")


@bp.get("")
@operation(
    "Mon compte",
    tag="Compte",
    description="Type, solde disponible, crédits réservés, consommation et dû (postpayé), "
    "expiration de la clé API qui appelle, débit, `actif` (false : compte suspendu) et "
    "émetteurs autorisés.",
    responses={200: Answer("Le compte.", answers.Compte),
               503: Answer("Compte momentanément indisponible (COMPTE_INDISPONIBLE).")},
    security=Security.CLE_API,
)
async def get_account() -> Response:
    account_id = await client_account()
    view = await gateway().account(account_id)
    body = views.account(view)
    calling = gateway().key_expiry(request.headers.get("X-API-Key"))
    if calling is not None:
        body["cleApi"] = {"expiration": calling}  # the key that asks, among several
    return jsonify_status(body, 200)


@bp.post("/cle")
@operation(
    "Régénérer ma clé API",
    tag="Compte",
    description="Remplace la clé qui appelle par une nouvelle clé du même nom, montrée une "
    "seule fois ; l'ancienne est révoquée immédiatement, les autres clés du compte restent. "
    "Le secret des rappels (empreinte SHA-256 de la clé) change avec elle.",
    responses={201: Answer("La nouvelle clé.", answers.NouvelleCle)},
    security=Security.CLE_API,
)
async def regenerate_key() -> Response:
    api_key = request.headers.get("X-API-Key")
    account_id = await client_account()
    new = await gateway().regenerate_key(account_id, api_key)
    return jsonify_status({"cleApi": views.key(new)}, 201)


@bp.get("/cles")
@operation(
    "Mes clés API",
    tag="Compte",
    description=f"Les clés actives du compte (au plus {MAX_KEYS}), jamais la clé elle-même : "
    "son nom, ses 8 premiers caractères, sa création, son expiration et sa dernière "
    "utilisation (à la minute près).",
    responses={200: Answer("Les clés actives.", answers.Cles)},
    security=Security.CLE_API,
)
async def list_keys() -> Response:
    account_id = await client_account()
    keys = await gateway().list_keys(account_id)
    return jsonify_status({"cles": [views.key_view(k) for k in keys], "maximum": MAX_KEYS}, 200)


@bp.post("/cles")
@operation(
    "Créer une clé API",
    tag="Compte",
    description="Une clé de plus, nommée (un système, un serveur), valable `expirationJours` "
    "jours (365 par défaut). La clé est montrée une seule fois dans `cle`. Au plus "
    f"{MAX_KEYS} clés actives : au-delà, 409 TROP_DE_CLES.",
    body=CreateKey,
    responses={201: Answer("La clé créée.", answers.CleCreee),
               409: Answer(f"Le compte a déjà {MAX_KEYS} clés actives (TROP_DE_CLES).")},
    security=Security.CLE_API,
)
async def create_key() -> Response:
    account_id = await client_account()
    body = await valid_body()
    assert isinstance(body, CreateKey)
    created = await gateway().create_key(account_id, body.nom, body.expirationJours)
    return jsonify_status(views.created_key(created), 201)


@bp.delete("/cles/<int:key_id>")
@operation(
    "Révoquer une clé API",
    tag="Compte",
    description="La clé est refusée (401 CLE_API_INVALIDE) dès la requête suivante. Une clé "
    "peut révoquer une autre clé du compte ou elle-même.",
    responses={204: Answer("Clé révoquée."),
               404: Answer("Pas de clé active de ce compte sous cet identifiant (CLE_INCONNUE).")},
    security=Security.CLE_API,
)
async def revoke_key(key_id: int) -> Response:
    account_id = await client_account()
    await gateway().revoke_key(account_id, key_id)
    return Response(b"", status=204)


@bp.get("/desinscrits")
@operation(
    "Liste des désinscrits",
    tag="Compte",
    description="Les numéros que le compte ne sert plus, dans l'ordre où ils ont été ajoutés. "
    "Un destinataire de la liste termine ECHEC / DESINSCRIT dès l'acceptation, sans être "
    "facturé. Pagination par curseur.",
    params=PAGE_BY_ID,
    responses={200: Answer("Une page de la liste.", answers.PageDesinscrits)},
    security=Security.CLE_API,
)
async def list_opt_outs() -> Response:
    account_id = await client_account()
    query = valid_query()
    limit = query.get("limite", 100)
    rows = await gateway().opt_outs_page(account_id, query.get("curseur", 0), limit)
    return jsonify_status(
        {
            "desinscrits": [views.opt_out(r) for r in rows],
            "curseurSuivant": str(rows[-1].id) if len(rows) == limit else None,
        },
        200,
    )


@bp.post("/desinscrits")
@operation(
    "Ajouter des désinscrits",
    tag="Compte",
    description="Ajoute des numéros à la liste (normalisés comme les destinataires ; un "
    "numéro déjà présent est ignoré). Un numéro invalide refuse toute la liste (422).",
    body=AddOptOuts,
    responses={200: Answer("Numéros ajoutés.", answers.DesinscritsAjoutes)},
    security=Security.CLE_API,
)
async def add_opt_outs() -> Response:
    account_id = await client_account()
    body = await valid_body()
    assert isinstance(body, AddOptOuts)
    added = await gateway().add_opt_outs(account_id, body.numeros, "API")
    return jsonify_status({"ajoutes": added}, 200)


@bp.delete("/desinscrits/<numero>")
@operation(
    "Retirer un désinscrit",
    tag="Compte",
    description="Le numéro peut de nouveau recevoir les envois du compte.",
    responses={204: Answer("Numéro retiré."),
               404: Answer("Ce numéro n'est pas dans la liste (NUMERO_NON_DESINSCRIT).")},
    security=Security.CLE_API,
)
async def remove_opt_out(numero: str) -> Response:
    account_id = await client_account()
    await gateway().remove_opt_out(account_id, numero)
    return Response(b"", status=204)
