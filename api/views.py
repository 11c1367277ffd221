"""Shapes of answers: engine records to the contract's JSON."""

from __future__ import annotations

from typing import Any

from engine.gateway import AccountView, CreatedKey, NewKey
from engine.model import (
    Accepted,
    AccountRow,
    AccountType,
    CampaignRequest,
    InvoiceRow,
    KeyView,
    MessageView,
    OptOutRow,
    SendView,
    format_ref,
)


def accepted(a: Accepted) -> dict[str, Any]:
    body: dict[str, Any] = {"ref": format_ref(a.ref), "type": a.type.value, "statut": a.statut.value}
    if a.type.value != "UNIDES":
        body["nbDestinataires"] = a.nb_destinataires
        body["doublonsIgnores"] = a.doublons
    body["segments"] = a.segments
    body["encodage"] = a.encodage
    if a.avertissements:
        body["avertissements"] = list(a.avertissements)
    return body


def accepted_campaign(a: Accepted, campaign: CampaignRequest) -> dict[str, Any]:
    """A MULDESP's 202 body: the accepted send and its calendar."""
    body = accepted(a)
    body.update(
        dateDebut=campaign.date_debut.isoformat(),
        dateFin=campaign.date_fin.isoformat(),
        nbParJour=campaign.nb_par_jour,
        intervalleMinutes=campaign.intervalle_minutes,
        etatCampagne="PLANIFIEE" if a.statut.value == "EN_ATTENTE" else "TERMINEE",
    )
    return body


def send(view: SendView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ref": format_ref(view.ref),
        "type": view.type,
        "statut": view.statut,
        "emetteur": view.emetteur,
        "corps": view.corps,
        "creeLe": view.cree_le,
        "nbDestinataires": view.nb_destinataires,
        "doublonsIgnores": view.doublons,
        "segments": view.segments,
        "encodage": view.encodage,
        "compteurs": view.compteurs,
    }
    if view.avertissements:
        body["avertissements"] = view.avertissements
    if view.campagne:
        body.update(view.campagne)
    return body


def message(m: MessageView) -> dict[str, Any]:
    return {
        "destinataire": m.destinataire,
        "statut": m.statut,
        "raison": m.raison,
        "codeSmsc": m.code_smsc,
        "envoyeLe": m.envoye_le,
        "livraison": m.livraison,
        "livreLe": m.livre_le,
        "doublonPossible": m.doublon_possible,
    }


def key(k: NewKey) -> dict[str, str]:
    return {"cle": k.cle, "expiration": k.expiration}


def account(view: AccountView) -> dict[str, Any]:
    row, snap = view.row, view.snapshot
    led = row.ledger
    body = account_row(row)
    if snap is not None:
        body.update(solde=snap.solde, reserve=snap.reserve, consommation=snap.consommation, du=snap.du)
    body["type"] = snap.type if snap is not None else led.type.value
    body["cleApi"] = {"expiration": view.key_expiry}
    return body


def account_row(row: AccountRow) -> dict[str, Any]:
    led = row.ledger
    return {
        "id": row.id,
        "nom": row.nom,
        "type": led.type.value,
        "solde": led.solde,
        "reserve": led.reserve,
        "consommation": led.consommation,
        "du": led.du,
        "debitMax": row.debit_max,
        "email": row.email,
        "urlRappel": row.url_rappel,
        "creeLe": row.cree_le,
        "postpaye": led.type is AccountType.POSTPAYE,
        "actif": row.actif,
        "emetteursAutorises": list(row.emetteurs),
    }


def key_view(k: KeyView) -> dict[str, Any]:
    """A live key as listed: never the key itself."""
    return {
        "id": k.id,
        "nom": k.nom,
        "prefixe": k.prefixe,
        "creeLe": k.cree_le,
        "expiration": k.expire_le,
        "derniereUtilisation": k.utilise_le,
    }


def created_key(k: CreatedKey) -> dict[str, Any]:
    """A key just created: as listed, with the key shown this once."""
    return {**key_view(k.view), "cle": k.cle}


def opt_out(row: OptOutRow) -> dict[str, Any]:
    return {"id": row.id, "numero": row.numero, "source": row.source, "creeLe": row.cree_le}


def invoice(inv: InvoiceRow) -> dict[str, Any]:
    return {
        "id": inv.id,
        "compte": inv.account_id,
        "debut": inv.debut,
        "fin": inv.fin,
        "nbSms": inv.nb_sms,
        "montant": inv.montant,
        "regleLe": inv.regle_le,
        "reglee": inv.regle_le is not None,
    }
