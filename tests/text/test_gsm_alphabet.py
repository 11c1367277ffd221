"""The GSM 03.38 tables: which characters are GSM 7-bit, and how many septets they take."""

from __future__ import annotations

import pytest

from engine.text import Encoding, choose_encoding, decode_parts, encode_message, gsm7_septets
from engine.text.gsm import decode_gsm7, encode_gsm7, is_gsm7

# GSM 03.38 default alphabet, written out by septet value (0x1B is the escape).
SEPTET_VALUES = {
    "@": 0x00, "£": 0x01, "$": 0x02, "¥": 0x03, "è": 0x04, "é": 0x05, "ù": 0x06, "ì": 0x07,
    "ò": 0x08, "Ç": 0x09, "\n": 0x0A, "Ø": 0x0B, "ø": 0x0C, "\r": 0x0D, "Å": 0x0E, "å": 0x0F,
    "Δ": 0x10, "_": 0x11, "Φ": 0x12, "Γ": 0x13, "Λ": 0x14, "Ω": 0x15, "Π": 0x16, "Ψ": 0x17,
    "Σ": 0x18, "Θ": 0x19, "Ξ": 0x1A, "Æ": 0x1C, "æ": 0x1D, "ß": 0x1E, "É": 0x1F,
    " ": 0x20, "!": 0x21, '"': 0x22, "#": 0x23, "¤": 0x24, "%": 0x25, "&": 0x26, "'": 0x27,
    "(": 0x28, ")": 0x29, "*": 0x2A, "+": 0x2B, ",": 0x2C, "-": 0x2D, ".": 0x2E, "/": 0x2F,
    "0": 0x30, "9": 0x39, ":": 0x3A, ";": 0x3B, "<": 0x3C, "=": 0x3D, ">": 0x3E, "?": 0x3F,
    "¡": 0x40, "A": 0x41, "Z": 0x5A, "Ä": 0x5B, "Ö": 0x5C, "Ñ": 0x5D, "Ü": 0x5E, "§": 0x5F,
    "¿": 0x60, "a": 0x61, "z": 0x7A, "ä": 0x7B, "ö": 0x7C, "ñ": 0x7D, "ü": 0x7E, "à": 0x7F,
}  # fmt: skip
EXTENSION_CODES = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}  # fmt: skip


@pytest.mark.parametrize(("char", "septet"), sorted(SEPTET_VALUES.items()))
def test_default_alphabet_character_is_one_septet_of_its_table_value(
    char: str, septet: int
) -> None:
    assert encode_gsm7(char) == bytes([septet])
    assert gsm7_septets(char) == 1
    assert decode_gsm7(bytes([septet])) == char


@pytest.mark.parametrize(("char", "code"), sorted(EXTENSION_CODES.items()))
def test_extension_character_is_escape_then_code(char: str, code: int) -> None:
    assert encode_gsm7(char) == bytes([0x1B, code])
    assert gsm7_septets(char) == 2
    assert choose_encoding(char) is Encoding.GSM7
    assert decode_gsm7(bytes([0x1B, code])) == char


def test_euro_sign_counts_two_septets() -> None:
    assert gsm7_septets("€") == 2
    assert gsm7_septets("10 €") == 5


@pytest.mark.parametrize("char", list("éèùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉÄÖÑÜ§¿äöñüà"))
def test_accented_and_greek_letters_of_the_table_stay_gsm7(char: str) -> None:
    assert choose_encoding(f"Bonjour {char}") is Encoding.GSM7


@pytest.mark.parametrize("char", list("çêâîôûëïÀÈÊœ`’«»") + ["\x1b", "\t", "😀", "中"])
def test_character_outside_the_table_forces_ucs2(char: str) -> None:
    assert not is_gsm7(char)
    assert choose_encoding(f"Bonjour {char}") is Encoding.UCS2


def test_french_sentence_with_only_table_accents_is_gsm7() -> None:
    text = "Votre compte a été crédité à 18h, où que vous soyez. Ça marche !"
    assert choose_encoding(text) is Encoding.GSM7


def test_lowercase_c_cedilla_makes_the_message_ucs2() -> None:
    message = encode_message("Reçu : 5000 F", reference=0)
    assert message.encoding is Encoding.UCS2
    assert message.data_coding == 8
    assert message.parts == ("Reçu : 5000 F".encode("utf-16-be"),)


def test_gsm7_single_part_is_unpacked_septets_with_data_coding_zero() -> None:
    message = encode_message("Prix: 5€ [promo]", reference=0)
    assert message.encoding is Encoding.GSM7
    assert (message.data_coding, message.esm_class) == (0, 0)
    assert message.parts == (b"Prix: 5\x1b\x65 \x1b\x3cpromo\x1b\x3e",)
    assert decode_parts(message.parts, Encoding.GSM7) == "Prix: 5€ [promo]"


def test_empty_text_is_one_empty_gsm7_part() -> None:
    message = encode_message("", reference=0)
    assert (message.encoding, message.parts) == (Encoding.GSM7, (b"",))


def test_unknown_escape_code_decodes_as_the_default_alphabet_character() -> None:
    assert decode_gsm7(b"\x1b\x41") == "A"


def test_octet_over_0x7f_is_not_a_septet() -> None:
    with pytest.raises(ValueError, match="0x7F"):
        decode_gsm7(b"\x80")


def test_encoding_a_non_gsm_character_raises() -> None:
    with pytest.raises(ValueError, match="GSM"):
        encode_gsm7("ç")
