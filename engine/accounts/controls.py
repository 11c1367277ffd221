"""What an account may send, decided before any credit is held. Pure.

An account's actor holds its `AccountControls` (loaded with the account,
changed by `SetControls` after the change is committed) and asks `refusal`
before it reserves anything for a send or a campaign: a suspended account is
refused 403 COMPTE_SUSPENDU, a sender outside the account's names 422
EMETTEUR_NON_AUTORISE. A refused send leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.errors import Forbidden, GatewayError
from engine.text import SenderAddress, parse_sender


class SenderRefused(GatewayError):
    """The send's `emetteur` is not one of the account's sender names."""

    code = "EMETTEUR_NON_AUTORISE"


def sender_key(sender: SenderAddress) -> str:
    """What two spellings of one sender share (an E.164 number written with or
    without its +, an alphanumeric name as written)."""
    return sender.address


def sender_keys(names: Iterable[str]) -> frozenset[str]:
    """The keys of valid sender names (`parse_sender` raises on an invalid one)."""
    return frozenset(sender_key(parse_sender(name)) for name in names)


@dataclass(frozen=True, slots=True)
class AccountControls:
    """Whether the account may send (`actif`), the sender names it may use
    (`emetteurs`, empty: any valid sender unless `senders_required`)."""

    actif: bool = True
    emetteurs: tuple[str, ...] = ()
    senders_required: bool = False

    @property
    def allowed(self) -> frozenset[str]:
        return sender_keys(self.emetteurs)


def refusal(controls: AccountControls, sender: SenderAddress) -> GatewayError | None:
    """Why a send under `sender` is refused now, or None when it may go."""
    if not controls.actif:
        return Forbidden(
            "Ce compte est suspendu : ses envois sont refusés. Contactez votre opérateur.",
            code="COMPTE_SUSPENDU",
        )
    if controls.emetteurs:
        if sender_key(sender) not in controls.allowed:
            return SenderRefused(
                "Cet émetteur n'est pas autorisé pour ce compte.",
                details=[{
                    "champ": "emetteur",
                    "message": "Émetteurs autorisés : " + ", ".join(controls.emetteurs) + ".",
                }],
            )
    elif controls.senders_required:
        return SenderRefused(
            "Aucun émetteur n'est autorisé pour ce compte : demandez à votre opérateur "
            "d'enregistrer vos noms d'émetteur.",
            details=[{"champ": "emetteur", "message": "Aucun émetteur autorisé."}],
        )
    return None
