"""What the API answers: one definition per answer body, shown in the OpenAPI
document (`json_schema(..., "serialization")`) and checked against every answer
the test suite receives (tests/api/test_contract.py, schemathesis). A field that
an answer may leave out is `NotRequired`; one that may be null says `| None`."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field
from typing_extensions import TypedDict

from api.models.requests import Statut, TypeEnvoi
from engine.model import PLAN_LIMIT

Ref = Annotated[str, Field(pattern=r"^[0-9]{6,}$", description="Référence de l'envoi (chiffres, "
                           "au moins 6).", examples=["000245"])]
Count = Annotated[int, Field(ge=0)]
Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
Raison = Annotated[Literal["NUMERO_INVALIDE", "SOLDE_INSUFFISANT", "ERREUR_RESEAU", "REJET_SMSC",
                           "CAMPAGNE_EXPIREE", "ANNULE", "DESINSCRIT", "EXPIRE"] | None,
                   Field(description="Raison d'un ECHEC (DESINSCRIT : le numéro est dans la liste "
                         "des désinscrits du compte ; EXPIRE : la validité de l'envoi est passée ; "
                         "ni l'un ni l'autre n'est facturé).")]
Livraison = Annotated[Literal["LIVRE", "NON_LIVRE", "EXPIRE"] | None, Field(
    description="Accusé de réception de l'opérateur ; ne change pas le statut.")]
Avertissements = Annotated[list[str], Field(
    description="Avertissements en français (par exemple un émetteur de plus de 11 caractères).")]
EtatCampagne = Annotated[
    Literal["PLANIFIEE", "EN_COURS", "SUSPENDUE", "TERMINEE", "ANNULEE"],
    Field(description="PLANIFIEE : aucun créneau encore passé ; EN_COURS ; SUSPENDUE : solde "
          "prépayé insuffisant à un créneau (reprise au créneau suivant une recharge), ou compte "
          "suspendu (reprise après sa réactivation) ; TERMINEE ; ANNULEE."),
]
CurseurSuivant = Annotated[str | None, Field(
    description="À passer en `curseur` pour la page suivante ; null à la fin.")]


class Detail(TypedDict, total=False):
    champ: str
    message: str


class ErreurCorps(TypedDict):
    code: Annotated[str, Field(examples=["VALIDATION"])]
    message: Annotated[str, Field(examples=["La requête contient des champs invalides."])]
    details: list[Detail]


class Erreur(TypedDict):
    """The one error envelope (contract section 7)."""

    erreur: ErreurCorps


class AccepteUnides(TypedDict):
    __pydantic_config__ = ConfigDict(json_schema_extra={"example": {  # type: ignore[misc]
        "ref": "000245", "type": "UNIDES", "statut": "EN_ATTENTE", "segments": 1,
        "encodage": "GSM7"}})

    ref: Ref
    type: TypeEnvoi
    statut: Statut
    segments: Annotated[int, Field(ge=1, description="SMS par destinataire.")]
    encodage: Literal["GSM7", "UCS2"]
    avertissements: NotRequired[Avertissements]


class AccepteMuldes(AccepteUnides):
    __pydantic_config__ = ConfigDict(json_schema_extra={"example": {  # type: ignore[misc]
        "ref": "000312", "type": "MULDES", "statut": "EN_ATTENTE", "nbDestinataires": 3,
        "doublonsIgnores": 0, "segments": 1, "encodage": "GSM7"}})

    nbDestinataires: Count
    doublonsIgnores: Count


class AccepteMuldesp(TypedDict):
    __pydantic_config__ = ConfigDict(json_schema_extra={"example": {  # type: ignore[misc]
        "ref": "000245", "type": "MULDESP", "statut": "EN_ATTENTE", "dateDebut": "2025-10-10",
        "dateFin": "2025-10-15", "nbParJour": 100, "intervalleMinutes": 15,
        "etatCampagne": "PLANIFIEE", "nbDestinataires": 2, "doublonsIgnores": 0, "segments": 1,
        "encodage": "GSM7"}})

    ref: Ref
    type: Literal["MULDESP"]
    statut: Statut
    dateDebut: Day
    dateFin: Day
    nbParJour: NotRequired[int]
    intervalleMinutes: NotRequired[int]
    etatCampagne: NotRequired[EtatCampagne]
    nbDestinataires: Count
    doublonsIgnores: Count
    segments: NotRequired[Annotated[int, Field(ge=1)]]
    encodage: NotRequired[str]
    avertissements: NotRequired[list[str]]


class Compteurs(TypedDict):
    EN_ATTENTE: Count
    ENVOYE: Count
    ECHEC: Count
    LIVRE: Count


class Progression(TypedDict, total=False):
    total: int
    lances: int
    restants: int


class Envoi(TypedDict):
    __pydantic_config__ = ConfigDict(json_schema_extra={"example": {  # type: ignore[misc]
        "ref": "000312", "type": "MULDES", "statut": "ENVOYE", "emetteur": "ION-Networking",
        "corps": "Profitez de nos offres exclusives SMS Gateway !",
        "creeLe": "2025-10-10T08:00:00.000Z", "nbDestinataires": 3, "doublonsIgnores": 0,
        "segments": 1, "encodage": "GSM7",
        "compteurs": {"EN_ATTENTE": 0, "ENVOYE": 3, "ECHEC": 0, "LIVRE": 2}}})

    ref: Ref
    type: TypeEnvoi
    statut: Annotated[Statut, Field(description="EN_ATTENTE tant qu'un destinataire attend ; "
                                    "puis ENVOYE si au moins un a été envoyé, sinon ECHEC.")]
    emetteur: str
    corps: str
    creeLe: Instant
    nbDestinataires: Count
    doublonsIgnores: NotRequired[Count]
    segments: NotRequired[Annotated[int, Field(ge=1)]]
    encodage: NotRequired[str]
    compteurs: Compteurs
    avertissements: NotRequired[Avertissements]
    dateDebut: NotRequired[Annotated[Day, Field(description="MULDESP : premier jour.")]]
    dateFin: NotRequired[Annotated[Day, Field(description="MULDESP : dernier jour.")]]
    nbParJour: NotRequired[Annotated[int, Field(ge=1, description="MULDESP : quota quotidien.")]]
    intervalleMinutes: NotRequired[Annotated[int, Field(
        ge=1, description="MULDESP : minutes entre deux créneaux.")]]
    etatCampagne: NotRequired[Annotated[
        Literal["PLANIFIEE", "EN_COURS", "SUSPENDUE", "TERMINEE", "ANNULEE"],
        Field(description="MULDESP : état de la campagne.")]]
    progression: NotRequired[Annotated[Progression, Field(
        description="MULDESP : destinataires lancés et restants.")]]
    prochainCreneau: NotRequired[Annotated[Instant | None, Field(
        description="MULDESP : heure du prochain créneau, null s'il n'y en a plus.")]]
    reference: NotRequired[Annotated[str, Field(description="Votre référence, si l'envoi en "
                                                "porte une.")]]
    urlRappel: NotRequired[Annotated[str, Field(description="L'URL de rappel propre à cet envoi.")]]
    validite: NotRequired[Annotated[int, Field(ge=1, description="Validité, en minutes.")]]
    priorite: NotRequired[Literal["NORMALE", "HAUTE"]]
    dateEnvoi: NotRequired[Annotated[Instant, Field(
        description="Envoi différé : son heure de départ (UTC).")]]


class Message(TypedDict):
    destinataire: Annotated[str, Field(description="Numéro E.164 (ou tel que reçu s'il est "
                                       "invalide).")]
    statut: Statut
    raison: Raison
    codeSmsc: Annotated[int | None, Field(description="command_status SMPP d'un REJET_SMSC.")]
    envoyeLe: Instant | None
    livraison: Livraison
    livreLe: str | None
    doublonPossible: Annotated[bool, Field(description="Peut avoir été reçu deux fois (envoi "
                                           "repris après une coupure).")]
    reference: NotRequired[Annotated[str | None, Field(
        description="La référence de l'envoi, s'il en porte une.")]]
    smsc: Annotated[str | None, Field(description="La connexion SMSC par laquelle il est parti "
                                      "(`defaut` sans connexions nommées) ; null avant tout envoi.")]


class PageMessages(TypedDict):
    ref: Ref
    messages: list[Message]
    curseurSuivant: CurseurSuivant


class PageEnvois(TypedDict):
    envois: list[Envoi]
    curseurSuivant: CurseurSuivant


class CleApi(TypedDict):
    cle: NotRequired[Annotated[str, Field(description="La clé, montrée une seule fois.")]]
    expiration: str | None


class Compte(TypedDict):
    id: int
    nom: str
    type: Literal["PREPAYE", "POSTPAYE"]
    solde: Annotated[int, Field(ge=0, description="Crédits SMS disponibles.")]
    reserve: Annotated[int, Field(ge=0, description="Crédits réservés par des envois en cours.")]
    consommation: Count
    du: Count
    debitMax: float
    email: NotRequired[str | None]
    urlRappel: NotRequired[str | None]
    creeLe: NotRequired[str]
    cleApi: NotRequired[CleApi]
    actif: NotRequired[Annotated[bool, Field(
        description="false : compte suspendu, ses envois sont refusés (403 COMPTE_SUSPENDU) ; "
        "les lectures répondent.")]]
    emetteursAutorises: NotRequired[Annotated[list[str], Field(
        description="Les seuls émetteurs que le compte peut utiliser (vide : tout émetteur "
        "valide, sauf si SMSGW_GATEWAY_SENDERS_REQUIRED=true).")]]
    secretRappel: NotRequired[Annotated[str, Field(
        description="Secret de signature des rappels (X-SMSGW-Signature) : montré une seule "
        "fois, dans la réponse qui crée le compte.")]]
    numerosEntrants: NotRequired[Annotated[list[str], Field(
        description="Numéros et codes courts entrants du compte (sans +) : les SMS entrants "
        "qui leur sont adressés sont à lui.")]]


class Entrant(TypedDict):
    id: int
    emetteur: Annotated[str, Field(description="L'abonné qui l'a envoyé (E.164).")]
    destinataire: Annotated[str, Field(description="Le code court ou le numéro auquel il l'a "
                                       "adressé.")]
    corps: str
    recuLe: Instant
    smsc: Annotated[str, Field(description="La connexion SMSC qui l'a remis.")]


class PageEntrants(TypedDict):
    __pydantic_config__ = ConfigDict(json_schema_extra={"example": {  # type: ignore[misc]
        "entrants": [{"id": 7, "emetteur": "+24106123456", "destinataire": "1234",
                      "corps": "STOP", "recuLe": "2025-10-10T08:00:00.000Z", "smsc": "moov"}],
        "curseurSuivant": None}})

    entrants: list[Entrant]
    curseurSuivant: CurseurSuivant


class PageComptes(TypedDict):
    comptes: list[Compte]
    curseurSuivant: NotRequired[CurseurSuivant]


class Solde(TypedDict):
    id: int
    solde: Count


class NouvelleCle(TypedDict):
    cleApi: CleApi


class NouveauSecretRappel(TypedDict):
    secretRappel: Annotated[str, Field(description="Le nouveau secret, montré une seule fois.")]


class Facture(TypedDict):
    id: int
    compte: NotRequired[int]
    debut: str
    fin: str
    nbSms: Count
    montant: Count
    regleLe: NotRequired[str | None]
    reglee: NotRequired[bool]


class Factures(TypedDict):
    factures: list[Facture]


class Sante(TypedDict):
    statut: Literal["OK", "DEGRADE"]
    smsc: NotRequired[dict[str, Any]]
    stockage: NotRequired[dict[str, Any]]
    demarreLe: NotRequired[str]
    noeud: Annotated[str, Field(description="Le nœud qui répond (`SMSGW_CLUSTER_NODE`).",
                                examples=["gw-1:8080"])]


class Noeud(TypedDict):
    """One node of the cluster as the database knows it."""

    noeud: Annotated[str, Field(description="Son nom, unique.", examples=["gw-1:8080"])]
    url: Annotated[str, Field(description="Où les autres nœuds joignent son API HTTP.",
                              examples=["http://10.0.0.7:8080"])]
    vuLe: Annotated[Instant, Field(description="Son dernier battement (horloge de la base).")]
    demarreLe: Annotated[Instant, Field(description="Son inscription.")]
    vivant: Annotated[bool, Field(description="Son dernier battement date de moins d'un bail.")]
    partitions: Annotated[list[Annotated[int, Field(ge=0)]], Field(
        description="Les partitions de comptes qu'il détient.")]
    bailAgeS: Annotated[float | None, Field(description="Secondes depuis le "
                                            "renouvellement le plus ancien de ses baux ; null : il "
                                            "n'en détient aucun.")]
    relaisParS: Annotated[float, Field(ge=0, description="Commandes qu'il a relayées à d'autres "
                                       "nœuds, par seconde (sur son dernier battement).")]
    comptesActifs: Annotated[int, Field(ge=0, description="Acteurs de compte en vie chez lui.")]


class Cluster(TypedDict):
    __pydantic_config__ = ConfigDict(json_schema_extra={"example": {  # type: ignore[misc]
        "noeud": "gw-1:8080", "partitions": 64, "bailS": 10.0, "noeuds": [
            {"noeud": "gw-1:8080", "url": "http://10.0.0.7:8080",
             "vuLe": "2025-10-10T08:00:02.000Z", "demarreLe": "2025-10-10T07:00:00.000Z",
             "vivant": True, "partitions": list(range(0, 64, 2)), "bailAgeS": 1.8,
             "relaisParS": 12.5, "comptesActifs": 40},
            {"noeud": "gw-2:8080", "url": "http://10.0.0.8:8080",
             "vuLe": "2025-10-10T08:00:01.000Z", "demarreLe": "2025-10-10T07:00:05.000Z",
             "vivant": True, "partitions": list(range(1, 64, 2)), "bailAgeS": 2.4,
             "relaisParS": 9.0, "comptesActifs": 37}]}})

    noeud: Annotated[str, Field(description="Le nœud qui répond.")]
    partitions: Annotated[int, Field(ge=1, description="Nombre de partitions des comptes "
                                     "(`SMSGW_CLUSTER_SHARDS`).")]
    bailS: Annotated[float, Field(gt=0, description="Durée d'un bail (`SMSGW_CLUSTER_LEASE_S`).")]
    noeuds: Annotated[list[Noeud], Field(description="Chaque nœud inscrit, les vivants d'abord, "
                                         "par nom.")]


class Ecriture(TypedDict, total=False):
    id: int
    nature: Annotated[str, Field(description="CREDIT, RESERVATION, DEBIT, LIBERATION, CONSOMMATION, "
                                 "FACTURE, REGLEMENT, TYPE, ou ADMIN : une action d'administration "
                                 "(montant 0), `detail` dit qui l'a faite et quoi.")]
    montant: int
    ref: str | None
    detail: str
    date: str


class Journal(TypedDict):
    compte: int
    ecritures: list[Ecriture]
    curseurSuivant: NotRequired[CurseurSuivant]
    recalcule: NotRequired[dict[str, Any]]
    concorde: NotRequired[bool]


Objet = dict[str, Any]
"""An answer of the pages whose fields are not part of the integration API."""


class Creneau(TypedDict):
    heure: Annotated[Instant, Field(description="UTC.")]
    heureLocale: Annotated[str, Field(description="Dans le fuseau de la campagne.")]
    nombre: Annotated[int, Field(ge=0, description="Destinataires prévus.")]
    etat: Literal["EFFECTUE", "PREVU"]
    lances: NotRequired[Annotated[int, Field(
        ge=0, description="Créneau effectué : destinataires effectivement lancés.")]]


class Fenetre(TypedDict, total=False):
    debut: str
    fin: str


class Plan(TypedDict):
    ref: Ref
    etatCampagne: EtatCampagne
    dateDebut: Day
    dateFin: Day
    nbParJour: int
    intervalleMinutes: int
    fuseauHoraire: Annotated[str, Field(examples=["Africa/Libreville"])]
    fenetre: Fenetre
    creneaux: list[Creneau]
    nbCreneauxPrevus: Count
    tronque: Annotated[bool, Field(description=f"Plus de {PLAN_LIMIT} créneaux à venir : seuls "
                                   "les premiers sont listés.")]
    nbNonPlanifies: Annotated[int, Field(ge=0, description="Destinataires restants qu'aucun "
                                         "créneau à venir ne peut porter (ils finiront ECHEC / "
                                         "CAMPAGNE_EXPIREE).")]


class Annulation(TypedDict):
    ref: Ref
    etatCampagne: NotRequired[Annotated[EtatCampagne, Field(
        description="MULDESP : l'état de la campagne.")]]
    annules: Annotated[int, Field(ge=0, description="Destinataires passés en ECHEC / ANNULE.")]
    compteurs: NotRequired[Compteurs]


class Cle(TypedDict):
    """A live API key as listed: never the key itself."""

    id: int
    nom: str
    prefixe: Annotated[str, Field(description="Les 8 premiers caractères de la clé.")]
    creeLe: Instant
    expiration: Instant
    derniereUtilisation: Annotated[str | None, Field(
        description="Dernier appel avec cette clé (à la minute près ; null : jamais).")]


class Cles(TypedDict):
    cles: list[Cle]
    maximum: NotRequired[Annotated[int, Field(description="Clés actives permises par compte.")]]


class CleCreee(Cle):
    cle: Annotated[str, Field(description="La clé, montrée une seule fois.")]


class Desinscrit(TypedDict):
    id: int
    numero: Annotated[str, Field(description="Numéro au format E.164.")]
    source: Annotated[str, Field(description="Qui l'a ajouté : API, ESPACE, STOP (réponse STOP "
                                 "du destinataire)...")]
    creeLe: Instant


class PageDesinscrits(TypedDict):
    desinscrits: list[Desinscrit]
    curseurSuivant: CurseurSuivant


class DesinscritsAjoutes(TypedDict):
    ajoutes: Annotated[int, Field(ge=0, description="Numéros qui n'étaient pas encore dans la liste.")]
