"""What requests carry: the send bodies, the administration bodies, the client
space's password form, query parameters and headers. Each definition both
checks the request (api/http.py, api/intake.py) and is what the OpenAPI document
shows (api/openapi.py)."""

from __future__ import annotations

import base64
import functools
import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from api.models.base import TEXT, WHITESPACE, Body, pattern

# -- the send bodies (contract sections 2 and 3) -----------------------------------------

SENDER_PATTERN = pattern(
    rf"^{WHITESPACE}*(?:\+[ .-]*(?:[0-9][ .-]*){{1,15}}"
    rf"|[A-Za-z0-9._-][A-Za-z0-9 ._-]*){WHITESPACE}*$",
    "L'émetteur est un numéro international (« + » suivi de 1 à 15 chiffres) ou un nom fait "
    "de lettres sans accent, de chiffres, d'espaces et des caractères « - », « . » et « _ ».",
)
"""An `emetteur`, spaces around it ignored: `+` then 1 to 15 digits (spaces, dots
and dashes between them allowed), or a name among ASCII letters, digits, space,
`.`, `_`, `-` (engine/text/numbers.py `parse_sender`)."""

Emetteur = Annotated[str, Field(
    min_length=1, max_length=20, pattern=SENDER_PATTERN,
    description="Numéro international (« + » puis 1 à 15 chiffres, espaces, points et tirets "
    "permis entre eux) ou nom de 1 à 20 caractères parmi les lettres sans accent, les chiffres, "
    "l'espace, -, . et _ ; les espaces autour sont ignorés. Au-delà de 11 caractères, un "
    "avertissement est renvoyé.",
    examples=["ION-Networking"],
)]
Corps = Annotated[str, Field(
    min_length=1, max_length=160, pattern=TEXT,
    description="Texte du message, 1 à 160 caractères (GSM 7 bits si possible, UCS-2 sinon).",
    examples=["Bienvenue sur SMS Gateway !"],
)]
Numero = Annotated[str, Field(min_length=1, max_length=32, pattern=TEXT, examples=["+24106123456"])]


class Unides(Body):
    """UNIDES: one recipient."""

    emetteur: Emetteur
    destinataire: Annotated[Numero, Field(description="Numéro du destinataire (format international).")]
    corps: Corps

    model_config = {"json_schema_extra": {"example": {
        "emetteur": "ION-Networking",
        "destinataire": "+24106123456",
        "corps": "Bienvenue sur SMS Gateway !",
    }}}


MULDES_NUMBERS_HINT = (
    "Champ obligatoire : un envoi multiple prend la liste « numeros » ; « destinataire » (un "
    "seul numéro) sert à l'envoi unitaire /api/V1/sms/unides."
)
TWICE_NUMBERS_HINT = (
    "« numeros » est déjà donné : la liste des destinataires se donne une seule fois, dans "
    "« numeros » ou dans « destinataire »."
)


def numbers_given(body: Any) -> Any:
    """The recipients list of a MULDES or MULDESP body, where it is given (`numeros`,
    or `destinataire` given as a list); None when it is neither."""
    if not isinstance(body, dict):
        return None
    given = body.get("numeros")
    if given is None and isinstance(body.get("destinataire"), list):
        given = body["destinataire"]
    return given


class MuldesBase(Body):
    """MULDES: one text to a list of recipients. `destinataire` given as a list
    (the seed's MULDES table names it so) is `numeros`; both at once is refused."""

    emetteur: Emetteur
    numeros: list[Numero]
    corps: Corps

    missing_hints: ClassVar = {"numeros": ("destinataire", MULDES_NUMBERS_HINT)}
    unknown_hints: ClassVar = {"destinataire": TWICE_NUMBERS_HINT}

    @model_validator(mode="before")
    @classmethod
    def _destinataire_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and "numeros" not in data and isinstance(
            data.get("destinataire"), list
        ):
            data = {("numeros" if k == "destinataire" else k): v for k, v in data.items()}
        return data


_NUMEROS_DESCRIPTION = (
    "Numéros des destinataires (format international conseillé). `destinataire`, donné en "
    "liste, est accepté à sa place (jamais les deux)."
)
_NUMEROS_EXAMPLE: list[Any] = ["+24106123456", "+24107456789", "+24106234567"]


@functools.cache
def muldes(max_items: int) -> type[MuldesBase]:
    """The MULDES body with its recipient limit (`SMSGW_GATEWAY_MAX_RECIPIENTS`)."""

    class Muldes(MuldesBase):
        numeros: Annotated[list[Numero], Field(
            min_length=1, max_length=max_items, description=_NUMEROS_DESCRIPTION,
            examples=[_NUMEROS_EXAMPLE])]

        model_config = {"json_schema_extra": {"example": {
            "emetteur": "ION-Networking",
            "numeros": _NUMEROS_EXAMPLE,
            "corps": "Profitez de nos offres exclusives SMS Gateway !",
        }}}

    return Muldes


def _calendar_date(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise PydanticCustomError("smsgw_date", "Doit être une date AAAA-MM-JJ.") from None
    return text


CalendarDate = Annotated[
    str,
    Field(min_length=10, max_length=10, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
          json_schema_extra={"format": "date"}),
    AfterValidator(_calendar_date),
]
pattern(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "Doit être une date AAAA-MM-JJ.")


@functools.cache
def muldesp(max_items: int) -> type[MuldesBase]:
    """The MULDESP body: the MULDES fields plus the calendar."""

    class Muldesp(muldes(max_items)):  # type: ignore[misc]
        dateDebut: Annotated[CalendarDate, Field(
            description="Premier jour de la campagne (AAAA-MM-JJ, fuseau de la passerelle, "
            "Africa/Libreville par défaut), aujourd'hui ou plus tard.", examples=["2025-10-10"])]
        dateFin: Annotated[CalendarDate, Field(
            description="Dernier jour (inclus), au plus tôt dateDebut ; 366 jours au plus, "
            "dates incluses.", examples=["2025-10-15"])]
        nbParJour: Annotated[int, Field(
            ge=1, le=10_000_000, description="Nombre maximal de SMS envoyés par jour.",
            examples=[100])]
        intervalleMinutes: Annotated[int, Field(
            ge=1, le=1440, description="Intervalle entre deux créneaux d'envoi, à partir du "
            "début de la fenêtre quotidienne (08:00-20:00 par défaut, fin exclue).",
            examples=[15])]

        model_config = {"json_schema_extra": {"example": {
            "emetteur": "ION-Networking",
            "numeros": ["+24106123456", "+24107456789"],
            "corps": "Campagne d'information SMS Gateway",
            "dateDebut": "2025-10-10",
            "dateFin": "2025-10-15",
            "nbParJour": 100,
            "intervalleMinutes": 15,
        }}}

    return Muldesp


# -- administration (contract section 5) --------------------------------------------------

EMAIL_PATTERN = pattern(
    rf"^[^@\x00{WHITESPACE[1:-1]}]+@[^@\x00{WHITESPACE[1:-1]}]+\.[^@\x00{WHITESPACE[1:-1]}]+$",
    "Doit être une adresse e-mail (nom@domaine.tld).",
)
URL_PATTERN = pattern(
    rf"^https?://[^\x00{WHITESPACE[1:-1]}]+$",
    "Doit être une URL http:// ou https:// sans espace.",
)

Nom = Annotated[str, Field(min_length=1, max_length=100, pattern=TEXT,
                           examples=["Banque de Libreville"])]
TypeCompte = Annotated[Literal["PREPAYE", "POSTPAYE"], Field(
    description="PREPAYE : les envois consomment un solde crédité d'avance ; "
    "POSTPAYE : les envois sont enregistrés puis facturés.")]
DebitMax = Annotated[float, Field(
    gt=0, le=100000, description="Débit d'envoi du compte vers le SMSC, en messages par seconde.",
    examples=[100])]
MotDePasse = Annotated[str, Field(min_length=8, max_length=200, pattern=TEXT)]


EmetteursAutorises = Annotated[list[Emetteur], Field(
    max_length=50,
    description="Les seuls émetteurs (`emetteur`) que le compte peut utiliser ; un envoi sous un "
    "autre répond 422 EMETTEUR_NON_AUTORISE sans rien réserver. Liste vide : tout émetteur "
    "valide (sauf si SMSGW_GATEWAY_SENDERS_REQUIRED=true : aucun).",
    examples=[["BANQUE", "+24106000000"]])]


class CreateAccount(Body):
    """A new account; a postpaid account takes no starting balance."""

    nom: Nom
    type: TypeCompte
    solde: Annotated[int | None, Field(
        ge=0, le=1_000_000_000, description="Crédits SMS de départ (comptes prépayés seulement).",
        examples=[1000])] = None
    email: Annotated[str | None, Field(max_length=254, pattern=EMAIL_PATTERN)] = None
    motDePasse: MotDePasse | None = None
    debitMax: DebitMax | None = None
    emetteursAutorises: EmetteursAutorises | None = None

    model_config = {"json_schema_extra": {
        "example": {"nom": "Banque de Libreville", "type": "PREPAYE", "solde": 1000},
        "description": "Un compte postpayé n'a pas de solde de départ (`solde` absent, null ou 0).",
        "anyOf": [
            {"properties": {"type": {"const": "PREPAYE"}}},
            {"properties": {"solde": {"anyOf": [{"type": "integer", "maximum": 0},
                                                {"type": "null"}]}}},
        ],
    }}

    @model_validator(mode="after")
    def _postpaid_has_no_balance(self) -> CreateAccount:
        if self.type == "POSTPAYE" and self.solde:
            raise PydanticCustomError(
                "smsgw_postpaid_balance",
                "Un compte postpayé n'a pas de solde de départ : ses envois sont facturés.",
                {"champ": "solde"},
            )
        return self


class Credit(Body):
    """A top-up of a prepaid account."""

    montant: Annotated[int, Field(
        ge=1, le=1_000_000_000,
        description="Crédits SMS à ajouter au solde d'un compte prépayé (entier > 0).",
        examples=[1000])]

    model_config = {"json_schema_extra": {"example": {"montant": 1000}}}


_NOT_NULL = "Ne peut pas être null."


class AmendAccount(Body):
    """What the operator may change on an account; at least one field. Only
    `urlRappel` may be null (to remove it)."""

    type: Annotated[TypeCompte, Field(
        description="Nouveau type. Ce qui est déjà réservé reste facturé selon l'ancien type ; "
        "un solde prépayé restant est conservé.")] = None  # type: ignore[assignment]
    debitMax: DebitMax = None  # type: ignore[assignment]
    nom: Nom = None  # type: ignore[assignment]
    urlRappel: Annotated[str | None, Field(
        max_length=2048, pattern=URL_PATTERN,
        description="URL qui reçoit chaque changement de statut (null pour la retirer).",
        examples=["https://exemple.ga/sms/statuts"])] = None
    motDePasse: Annotated[MotDePasse, Field(
        description="Nouveau mot de passe de l'espace client : toutes les sessions ouvertes du "
        "compte sont fermées.")] = None  # type: ignore[assignment]
    actif: Annotated[bool, Field(
        description="false : suspend le compte (chaque envoi répond 403 COMPTE_SUSPENDU sans rien "
        "réserver, ses campagnes passent SUSPENDUE, les lectures répondent) ; true : le réactive "
        "(ses campagnes reprennent au créneau suivant).")] = None  # type: ignore[assignment]
    emetteursAutorises: EmetteursAutorises = None  # type: ignore[assignment]

    unknown_hints: ClassVar = {
        "solde": "Champ non modifiable ici : créditez le compte par POST .../credit. Champs "
        "modifiables : type, debitMax, nom, urlRappel, motDePasse, actif, emetteursAutorises.",
    }
    model_config = {"json_schema_extra": {"example": {"type": "POSTPAYE", "debitMax": 50},
                                          "minProperties": 1}}

    @model_validator(mode="after")
    def _something_to_change(self) -> AmendAccount:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "smsgw_nothing",
                "Indiquez au moins un champ à modifier : type, debitMax, nom, urlRappel, "
                "motDePasse, actif, emetteursAutorises.",
            )
        return self


class CreateKey(Body):
    """One more named API key of the caller's account."""

    nom: Annotated[str, Field(min_length=1, max_length=100, pattern=TEXT,
                              examples=["Serveur de paiement"])]
    expirationJours: Annotated[int | None, Field(
        ge=1, le=3650,
        description="Durée de validité en jours (par défaut celle de la passerelle, 365).")] = None

    model_config = {"json_schema_extra": {
        "example": {"nom": "Serveur de paiement", "expirationJours": 90}}}


class AddOptOuts(Body):
    """Numbers the account must never send to again."""

    numeros: Annotated[list[Numero], Field(
        min_length=1, max_length=100_000,
        description="Numéros à ne plus servir, normalisés comme les destinataires ; un numéro "
        "invalide refuse toute la liste.")]

    model_config = {"json_schema_extra": {"example": {"numeros": ["+24106123456", "07456789"]}}}


class ChangePassword(Body):
    """The client space's password form (`application/x-www-form-urlencoded`)."""

    actuel: Annotated[str, Field(min_length=1, max_length=200)]
    nouveau: MotDePasse


# -- query parameters and headers ---------------------------------------------------------

Statut = Annotated[Literal["EN_ATTENTE", "ENVOYE", "ECHEC"], Field(
    description="EN_ATTENTE : enregistré, pas encore transmis ; ENVOYE : accepté par le SMSC ; "
    "ECHEC : numéro invalide, solde insuffisant ou problème réseau.")]
TypeEnvoi = Literal["UNIDES", "MULDES", "MULDESP"]
Limite = Annotated[int, Field(ge=1, le=1000, description="Taille de page (100 par défaut).")]
IdCursor = Annotated[int, Field(ge=0, le=10**18 - 1)]


def cursor_pattern(prefix: str) -> str:
    """The cursors `curseurSuivant` hands out for `prefix`: base64url, unpadded, of
    the letter `prefix` then 1 to 18 digits, and nothing else. Each run of three
    digits encodes to four characters from small sets, hence the classes below."""
    head = base64.urlsafe_b64encode(f"{prefix}0".encode()).decode()[:2]
    lead, middle, last = "(?:[MN][DTjz]|O[DT])", "[AEIMQUYcgk]", "[w-z0-5]"
    block = lead + middle + last  # three digits
    one, two = "(?:[MN][AQgw]|O[AQ])", lead + middle  # one or two last digits
    return pattern(
        f"^{head}{middle}(?:{last}(?:(?:{block}){{0,4}}(?:{one}|{two})?"
        f"|(?:{block}){{5}}{one}?))?$",
        "Curseur inconnu : reprenez la valeur `curseurSuivant` reçue.",
    )


def cursor(prefix: str) -> Any:
    """The `curseur` of a list whose cursors start with `prefix`."""
    return Annotated[str, Field(
        min_length=3, max_length=26, pattern=cursor_pattern(prefix),
        description="Valeur `curseurSuivant` de la page précédente : base64url sans remplissage "
        "d'une lettre et de 1 à 18 chiffres. Toute autre valeur répond 422.")]


def _date_or_instant(text: str) -> str:
    try:
        if len(text) == 10:
            date.fromisoformat(text)
        elif not _DATE_TIME.fullmatch(text):
            raise ValueError(text)
        else:
            datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError(
            "smsgw_date_or_instant", "Doit être une date AAAA-MM-JJ ou une date-heure RFC 3339."
        ) from None
    return text


_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)

DateOuInstant = Annotated[str, AfterValidator(_date_or_instant), WithJsonSchema({
    "type": "string",
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
    "description": "AAAA-MM-JJ (journée entière du fuseau de la passerelle) ou date-heure "
    "RFC 3339 avec son décalage (AAAA-MM-JJTHH:MM:SSZ, ...+01:00).",
})]

IdempotencyKey = Annotated[str, Field(min_length=1, max_length=128, pattern=TEXT)]
