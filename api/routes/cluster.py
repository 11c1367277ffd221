"""The cluster as the operator sees it (contract section 14).

`GET /api/V1/admin/cluster` (admin bearer token) and the console's page
`/operateur/cluster` (operator session) show the same record,
`Gateway.cluster_view()`: every node registered in the database, where the
others reach it, its last heartbeat, whether it is live, the shards of accounts
it holds, the age of its leases, the commands it forwards to other nodes per
second and its live account actors. A gateway alone on its store answers with
itself holding every shard.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quart import Blueprint, Response, redirect, session

from api.deps import gateway, require_admin
from api.http import jsonify_status
from api.models import answers
from api.openapi import Answer, Security, operation
from api.routes.espace import page, session_state
from engine.model import ClusterView, NodeView

bp = Blueprint("cluster", __name__)


def node_json(node: NodeView) -> dict[str, Any]:
    """One node on the wire (the contract's camelCase)."""
    return {
        "noeud": node.noeud,
        "url": node.url,
        "vuLe": node.vu_le,
        "demarreLe": node.demarre_le,
        "vivant": node.vivant,
        "partitions": list(node.partitions),
        "bailAgeS": node.bail_age_s,
        "relaisParS": node.relais_par_s,
        "comptesActifs": node.comptes_actifs,
    }


def cluster_json(view: ClusterView) -> dict[str, Any]:
    """The whole cluster on the wire."""
    return {
        "noeud": view.noeud,
        "partitions": view.partitions,
        "bailS": view.bail_s,
        "noeuds": [node_json(n) for n in view.noeuds],
    }


def shard_ranges(shards: Iterable[int]) -> str:
    """Shards as runs, for reading: `0-7, 9, 12-15`; `—` for none."""
    runs: list[list[int]] = []
    for shard in sorted(shards):
        if runs and shard == runs[-1][1] + 1:
            runs[-1][1] = shard
        else:
            runs.append([shard, shard])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs) or "—"


@bp.get("/api/V1/admin/cluster")
@operation(
    "Nœuds du cluster",
    tag="Exploitation",
    description="Chaque nœud inscrit sur la base (section 14 du contrat) : son URL, son dernier "
    "battement, s'il est vivant, les partitions de comptes qu'il détient, l'âge de ses baux, "
    "les commandes qu'il relaie par seconde et ses acteurs de compte en vie. Une passerelle "
    "seule sur son stockage se montre détenant toutes les partitions.",
    responses={200: Answer("Le cluster, vu du nœud qui répond.", answers.Cluster)},
    security=Security.ADMIN,
)
async def cluster() -> Response:
    require_admin()
    return jsonify_status(cluster_json(await gateway().cluster_view()), 200)


@bp.get("/operateur/cluster")
@operation(
    "Cluster (console opérateur)",
    tag="Pages",
    description="Les nœuds, leur URL, leur dernier battement, vivants ou non, les partitions de "
    "chacun, l'âge de leurs baux, les commandes relayées par seconde, les acteurs en vie.",
    responses={
        200: Answer("La page.", None, media_type="text/html"),
        302: Answer("Sans session opérateur : vers la connexion de la console.", None,
                    media_type="text/html"),
        403: Answer("Session client : accès refusé.", None, media_type="text/html"),
    },
    security=Security.SESSION,
)
async def cluster_page() -> Response:
    if session.get("role") == "client":
        return await page("refus.html", 403)
    if await session_state("operateur") != "ok":
        return redirect("/operateur")  # type: ignore[return-value]
    view = await gateway().cluster_view()
    nodes = [{**node_json(n), "plages": shard_ranges(n.partitions)} for n in view.noeuds]
    return await page(
        "operateur_cluster.html",
        cluster=cluster_json(view),
        noeuds=nodes,
        vivants=sum(n.vivant for n in view.noeuds),
        relais=sum(n.relais_par_s for n in view.noeuds),
        acteurs=sum(n.comptes_actifs for n in view.noeuds),
    )
