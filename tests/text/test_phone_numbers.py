"""Recipient numbers: E.164 normalisation, validity, duplicates, and the fast path."""

from __future__ import annotations

import time

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.text import NormalizedRecipients, normalize_number, normalize_recipients
from engine.text import numbers as numbers_module

SEED_NUMBERS = ["+24106123456", "+24107456789", "+24106234567"]


def phonenumbers_answer(text: str, region: str) -> str | None:
    """What phonenumbers alone says about ``text``: the oracle for the fast path."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize("number", SEED_NUMBERS)
def test_seed_numbers_are_valid_and_already_normal(number: str) -> None:
    assert normalize_number(number) == number


@pytest.mark.parametrize(
    "raw",
    [
        "+241 06 12 34 56",
        "+241-06-12-34-56",
        "+241.06.12.34.56",
        "(+241) 06 12 34 56",
        "00241 06 12 34 56",
        "0024106123456",
        "06 12 34 56",
        "06-12-34-56",
        "06.12.34.56",
        "(06) 12 34 56",
        "  +24106123456  ",
        "+241\u00a006\u00a012\u00a034\u00a056",
    ],
)
def test_human_formats_normalise_to_the_seed_number(raw: str) -> None:
    assert normalize_number(raw) == "+24106123456"


def test_eight_digit_gabonese_mobile_is_valid() -> None:
    assert normalize_number("062 12 34 56") == "+24162123456"
    assert normalize_number("+24174123456") == "+24174123456"


def test_foreign_number_in_international_form_keeps_its_country() -> None:
    assert normalize_number("+33 6 12 34 56 78") == "+33612345678"
    assert normalize_number("0033612345678") == "+33612345678"


def test_national_format_follows_the_default_region() -> None:
    assert normalize_number("06 12 34 56 78", default_region="FR") == "+33612345678"
    assert normalize_number("06 12 34 56", default_region="ga") == "+24106123456"


def test_unknown_region_leaves_only_international_numbers_valid() -> None:
    assert normalize_number("06 12 34 56", default_region="XX") is None
    assert normalize_number("+241 06 12 34 56", default_region="XX") == "+24106123456"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "bonjour",
        "0612ABCD",
        "+24106123456 ext 12",
        "1-800-FLOWERS",
        "12",
        "0612",
        "+241",
        "+241 0",
        "+2410612345678901",
        "+999 06123456",
        "06123456" * 40,
    ],
)
def test_non_numbers_are_invalid(raw: str) -> None:
    assert normalize_number(raw) is None


def test_recipients_split_valid_invalid_and_duplicates() -> None:
    result = normalize_recipients(
        [
            "+24106123456",
            "06 12 34 56",
            "abc",
            "+24107456789",
            "00241 06123456",
            "abc",
            "",
            "+24106234567",
            "+24107456789",
        ]
    )
    assert result == NormalizedRecipients(
        valid=("+24106123456", "+24107456789", "+24106234567"),
        invalid=("abc", ""),
        duplicates=3,
    )


def test_recipients_of_an_empty_list_are_empty() -> None:
    assert normalize_recipients([]) == NormalizedRecipients((), (), 0)


def test_all_invalid_recipients_are_kept_as_invalid() -> None:
    assert normalize_recipients(["x", "y", "x"]) == NormalizedRecipients((), ("x", "y"), 0)


def test_100000_distinct_gabonese_numbers_normalise_in_well_under_a_few_seconds() -> None:
    raw = [f"+2410{6 + i % 2}{i:06d}" for i in range(100_000)]
    started = time.perf_counter()
    result = normalize_recipients(raw)
    elapsed_s = time.perf_counter() - started
    assert len(result.valid) == 100_000
    assert elapsed_s < 5.0


def test_e164_gabonese_number_is_decided_by_the_fast_path() -> None:
    fast = numbers_module._fast_path("GA")
    assert fast.normalize("+24106123456") == "+24106123456"
    assert fast.normalize("+24109123456") is None


gabon_shaped = st.builds(
    lambda head, tail: "+241" + head + tail,
    st.sampled_from(["", "0", "00", "01", "011", "06", "060", "062", "07", "074", "6", "62", "7"]),
    st.text(alphabet="0123456789", max_size=18),
)
any_plus_digits = st.builds(
    lambda digits: "+" + digits, st.text(alphabet="0123456789", max_size=20)
)
regions = st.sampled_from(["GA", "CM", "CG", "CD", "SN", "CI", "BJ", "TG", "FR", "IT", "US", "RU"])


def country_shaped(region: str, tail: str) -> str:
    return f"+{phonenumbers.country_code_for_region(region)}{tail}"


@given(text=st.one_of(gabon_shaped, any_plus_digits))
def test_gabonese_e164_strings_get_phonenumbers_answer(text: str) -> None:
    assert normalize_number(text) == phonenumbers_answer(text, "GA")


@given(
    region=regions,
    tail=st.text(alphabet="0123456789", max_size=18),
)
def test_e164_strings_of_any_default_region_get_phonenumbers_answer(region: str, tail: str) -> None:
    text = country_shaped(region, tail)
    assert normalize_number(text, region) == phonenumbers_answer(text, region)


@given(region=regions, tail=st.text(alphabet="0123456789", min_size=6, max_size=12))
def test_fast_and_slow_paths_agree_whenever_the_fast_path_decides(region: str, tail: str) -> None:
    text = country_shaped(region, tail)
    decided = numbers_module._fast_path(region).normalize(text)
    if decided is not numbers_module._UNDECIDED:
        assert decided == numbers_module._slow_path(text, region)


@given(raw=st.lists(st.one_of(gabon_shaped, st.sampled_from(["abc", "06 12 34 56", ""]))))
def test_recipients_agree_with_normalizing_each_number(raw: list[str]) -> None:
    result = normalize_recipients(raw)
    numbers = [normalize_number(entry) for entry in raw]
    valid = [number for number in numbers if number is not None]
    assert result.valid == tuple(dict.fromkeys(valid))
    assert result.invalid == tuple(
        dict.fromkeys(e for e, n in zip(raw, numbers, strict=True) if n is None)
    )
    assert result.duplicates == len(valid) - len(result.valid)
