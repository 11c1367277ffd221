"""Recipient numbers to E.164, and the sender (``emetteur``) to an SMPP address.

Pure functions over phonenumbers' metadata, no I/O. Validity is phonenumbers'
``is_valid_number`` and nothing looser: its metadata for Gabon (checked with
phonenumbers 9.0) keeps the leading ``0`` of mobile numbers as part of the national
number, so the seed's ``+24106123456`` (``+241``, ``0``, 7 digits) is valid, as is
the eight-digit form ``+24162123456``; tests/text hold the seed's numbers valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum, auto
from functools import cache, lru_cache
from typing import Any, Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, phonenumberutil

_MATCHES_DESC: Callable[[str, Any], bool] | None = getattr(
    phonenumberutil, "_is_number_matching_desc", None
)

DEFAULT_REGION: Final = "GA"

_MIN_NSN_DIGITS: Final = 2  # phonenumbers' bounds on a national significant number
_MAX_NSN_DIGITS: Final = 17
_LETTER: Final = re.compile(r"[^\W\d_]")


class _Undecided(Enum):
    """The fast path cannot answer for this string: phonenumbers.parse decides."""

    UNDECIDED = auto()


_UNDECIDED: Final = _Undecided.UNDECIDED


def normalize_number(raw: str, default_region: str = DEFAULT_REGION) -> str | None:
    """``raw`` as E.164 (``"+24106123456"``), or None when it is not a valid phone number.

    Accepts what people type: spaces, dashes, dots, slashes and parentheses; ``+`` or
    ``00`` before the country code; a national number (``06 12 34 56``) read in
    ``default_region`` (an ISO 3166 code, any case; an unknown region leaves only
    international forms valid). Any letter makes the number invalid, although phonenumbers
    would read letters as keypad digits (``1-800-FLOWERS``): nobody texts a vanity
    number, and a typo must not turn into somebody else's phone.
    """
    region = default_region.upper()
    text = raw.strip()
    number = _fast_path(region).normalize(text)
    if number is _UNDECIDED:
        return _slow_path(text, region)
    return number


@dataclass(frozen=True, slots=True)
class NormalizedRecipients:
    """The recipients of one request, split into what can be sent and what cannot.

    ``valid``: distinct E.164 numbers in order of first occurrence. ``invalid``: raw
    entries that are not phone numbers, in order, each distinct raw string once.
    ``duplicates``: entries dropped because they normalise to an earlier valid number.
    """

    valid: tuple[str, ...]
    invalid: tuple[str, ...]
    duplicates: int


def normalize_recipients(
    raw: Sequence[str], default_region: str = DEFAULT_REGION
) -> NormalizedRecipients:
    """Normalise, validate and de-duplicate the recipients of one request.

    Identical raw strings are normalised once. Same answers as calling
    :func:`normalize_number` on each entry.
    """
    region = default_region.upper()
    seen: dict[str, str | None] = {}
    fast = _fast_path(region).normalize
    valid: dict[str, None] = {}
    invalid: dict[str, None] = {}
    duplicates = 0
    for entry in raw:
        if entry in seen:
            number = seen[entry]
        else:
            text = entry.strip()
            decided = fast(text)
            number = _slow_path(text, region) if decided is _UNDECIDED else decided
            seen[entry] = number
        if number is None:
            invalid[entry] = None
        elif number in valid:
            duplicates += 1
        else:
            valid[number] = None
    return NormalizedRecipients(tuple(valid), tuple(invalid), duplicates)


def _slow_path(text: str, region: str) -> str | None:
    """Normalise anything through phonenumbers.parse (some 20 µs a number)."""
    if _LETTER.search(text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


_Desc = tuple[frozenset[int], "re.Pattern[str]"]
"""A number type of the metadata: its possible lengths (empty: any) and its pattern."""


def _desc(desc: Any) -> _Desc | None:
    """What phonenumbers' ``_is_number_matching_desc`` looks at in ``desc``, or None
    for a type that matches no number (absent, or without a pattern)."""
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)


class _FastPath:
    """Validates strict ``+<country code><digits>`` strings of one region without parsing.

    For such a string phonenumbers.parse only splits off the country code and builds
    a PhoneNumber from the remaining digits, unless the region's national prefix
    rule would strip something. In that case, for other country codes, for country
    codes shared by several regions and for lengths parse rejects, the fast path
    answers ``_UNDECIDED`` and phonenumbers.parse decides. Otherwise validity is
    is_valid_number's own test (the region's general pattern and one of its number
    types, through phonenumbers' matcher, mobile first), and the E.164 form is the
    string itself. tests/text compare both paths on generated numbers.
    """

    __slots__ = ("_country_code", "_national_prefix", "_prefix", "_general", "_kinds")

    def __init__(self, region: str) -> None:
        country_code = phonenumbers.country_code_for_region(region)
        code = str(country_code)
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
        # parse takes the shortest leading digits that form a country code.
        shadowed = any(
            int(code[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
            for size in range(1, len(code))
        )
        self._country_code = country_code if len(regions) == 1 and not shadowed else None
        self._prefix = "+" + code
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        pattern = None if metadata is None else metadata.national_prefix_for_parsing
        self._national_prefix = re.compile(pattern) if pattern else None
        # is_valid_number answers "the general pattern matches and some number type
        # matches", trying ten types in a fixed order, mobile last. Asking the same
        # question with mobile and fixed line first answers most numbers in one or two
        # pattern matches. Each type is phonenumbers' own test (its possible lengths,
        # then its pattern over the whole number), with the patterns compiled here once
        # instead of looked up in `re`'s cache at every match. Needs phonenumbers'
        # matcher to exist (the test it does); without it, is_valid_number.
        self._general: _Desc | None = None
        self._kinds: tuple[_Desc, ...] = ()
        if metadata is not None and _MATCHES_DESC is not None:
            self._general = _desc(metadata.general_desc)
            self._kinds = tuple(
                desc
                for desc in map(
                    _desc,
                    (
                        metadata.mobile, metadata.fixed_line, metadata.premium_rate,
                        metadata.toll_free, metadata.shared_cost, metadata.voip,
                        metadata.personal_number, metadata.pager, metadata.uan,
                        metadata.voicemail,
                    ),
                )
                if desc is not None
            )

    def normalize(self, text: str) -> str | None | _Undecided:
        """E.164 or None when decided here, else ``_UNDECIDED``."""
        if self._country_code is None or not text.startswith(self._prefix):
            return _UNDECIDED
        nsn = text[len(self._prefix) :]
        if not (nsn.isascii() and nsn.isdigit()):
            return _UNDECIDED
        if not _MIN_NSN_DIGITS <= len(nsn) <= _MAX_NSN_DIGITS:
            return _UNDECIDED
        if self._national_prefix is not None and self._national_prefix.match(nsn):
            return _UNDECIDED
        general = self._general
        if general is not None:
            # the national significant number is `nsn` itself, leading zeros included
            size = len(nsn)
            lengths, pattern = general
            if (lengths and size not in lengths) or pattern.fullmatch(nsn) is None:
                return None
            for lengths, pattern in self._kinds:
                if (not lengths or size in lengths) and pattern.fullmatch(nsn) is not None:
                    return text
            return None
        number = PhoneNumber(country_code=self._country_code, national_number=int(nsn))
        if len(nsn) > 1 and nsn[0] == "0":
            # The same leading-zero bookkeeping as parse.
            number.italian_leading_zero = True
            zeros = min(len(nsn) - len(nsn.lstrip("0")), len(nsn) - 1)
            if zeros != 1:
                number.number_of_leading_zeros = zeros
        return text if phonenumbers.is_valid_number(number) else None


@cache
def _fast_path(region: str) -> _FastPath:
    """The fast path of ``region``, built once."""
    return _FastPath(region)


TON_INTERNATIONAL: Final = 1
TON_ALPHANUMERIC: Final = 5
NPI_ISDN: Final = 1
NPI_UNKNOWN: Final = 0

MAX_SENDER_NAME: Final = 20
DISPLAYED_SENDER_NAME: Final = 11
MAX_SENDER_DIGITS: Final = 15
LONG_SENDER_WARNING: Final = (
    "L'émetteur dépasse 11 caractères : "
    "la plupart des téléphones n'en afficheront que les 11 premiers."
)

_SENDER_NAME: Final = re.compile(r"[A-Za-z0-9 ._-]+")
_SENDER_SEPARATORS: Final = re.compile(r"[ .-]")


@dataclass(frozen=True, slots=True)
class SenderAddress:
    """The ``source_addr`` of every submit_sm of a send, with its TON and NPI.

    ``warnings`` are French sentences for the API answer's ``avertissements``.
    """

    address: str
    ton: int
    npi: int
    warnings: tuple[str, ...] = ()


@lru_cache(maxsize=4096)
def parse_sender(emetteur: str) -> SenderAddress:
    """The SMPP source address for an ``emetteur``, per the contract (section 2).

    ``+`` then 1 to 15 digits (spaces, dots and dashes between them are dropped) is
    a phone number: TON 1 (international), NPI 1 (ISDN), address without the ``+``.
    Anything else is a name of 1 to 20 characters among ASCII letters, digits,
    space, ``-``, ``.`` and ``_``: TON 5 (alphanumeric), NPI 0; over 11 characters
    it is accepted with a warning, as handsets often show only 11. Surrounding
    spaces are ignored. Raises ``ValueError`` with a French message otherwise.
    An account sends under a handful of names: answers are kept (4,096 at most).
    """
    text = emetteur.strip()
    if not text:
        raise ValueError("L'émetteur ne doit pas être vide.")
    if text.startswith("+"):
        digits = _SENDER_SEPARATORS.sub("", text[1:])
        if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_SENDER_DIGITS):
            raise ValueError(
                "Un émetteur numérique doit s'écrire au format international : "
                f"« + » suivi de 1 à {MAX_SENDER_DIGITS} chiffres."
            )
        return SenderAddress(digits, TON_INTERNATIONAL, NPI_ISDN)
    if len(text) > MAX_SENDER_NAME:
        raise ValueError(f"L'émetteur ne doit pas dépasser {MAX_SENDER_NAME} caractères.")
    if not _SENDER_NAME.fullmatch(text):
        raise ValueError(
            "L'émetteur ne peut contenir que des lettres sans accent, des chiffres, "
            "des espaces et les caractères « - », « . » et « _ »."
        )
    warnings = (LONG_SENDER_WARNING,) if len(text) > DISPLAYED_SENDER_NAME else ()
    return SenderAddress(text, TON_ALPHANUMERIC, NPI_UNKNOWN, warnings)
