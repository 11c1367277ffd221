"""The sender (emetteur): phone number or alphanumeric name, with TON/NPI and warnings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.text import LONG_SENDER_WARNING, SenderAddress, parse_sender

NAME_CHARACTERS = "abcXYZ019 -._"


def test_seed_sender_is_alphanumeric_with_the_eleven_character_warning() -> None:
    assert parse_sender("ION-Networking") == SenderAddress(
        address="ION-Networking", ton=5, npi=0, warnings=(LONG_SENDER_WARNING,)
    )


def test_long_sender_warning_is_the_contract_sentence() -> None:
    assert LONG_SENDER_WARNING == (
        "L'émetteur dépasse 11 caractères : "
        "la plupart des téléphones n'en afficheront que les 11 premiers."
    )


@pytest.mark.parametrize("name", ["A", "ION", "Banque_GA", "Promo.2024", "ION Network"])
def test_name_of_up_to_eleven_characters_has_no_warning(name: str) -> None:
    assert parse_sender(name) == SenderAddress(name, 5, 0, ())


def test_name_of_twenty_characters_is_accepted_with_a_warning() -> None:
    assert parse_sender("A" * 20).warnings == (LONG_SENDER_WARNING,)


def test_international_number_is_sent_without_plus_as_ton_1_npi_1() -> None:
    assert parse_sender("+24106123456") == SenderAddress("24106123456", 1, 1, ())


def test_international_number_may_be_written_with_separators() -> None:
    assert parse_sender("+241 06-12.34 56").address == "24106123456"


def test_surrounding_spaces_are_ignored() -> None:
    assert parse_sender("  ION  ").address == "ION"


@pytest.mark.parametrize(
    ("emetteur", "message"),
    [
        ("", "vide"),
        ("   ", "vide"),
        ("A" * 21, "20 caractères"),
        ("Émetteur", "lettres sans accent"),
        ("ION@Net", "lettres sans accent"),
        ("ION/Net", "lettres sans accent"),
        ("+", "format international"),
        ("+241abc", "format international"),
        ("+1234567890123456", "format international"),
        ("+٢٤١", "format international"),
    ],
)
def test_invalid_sender_is_refused_with_a_french_message(emetteur: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_sender(emetteur)


@given(name=st.text(alphabet=NAME_CHARACTERS, min_size=1, max_size=20).filter(str.strip))
def test_any_name_of_allowed_characters_is_alphanumeric(name: str) -> None:
    sender = parse_sender(name)
    assert (sender.address, sender.ton, sender.npi) == (name.strip(), 5, 0)
    assert bool(sender.warnings) == (len(name.strip()) > 11)
