"""The command line's pure parts: numbers read from CSV files, the load test's
figures and its generated recipients."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgw_cli.charge import Plan, number
from smsgw_cli.numbers import CsvError, numbers_from_csv
from smsgw_cli.stats import percentile


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "numeros.csv"
    path.write_text(text, encoding=encoding)
    return path


def test_a_phone_header_is_found_whatever_the_delimiter_and_accents(tmp_path: Path) -> None:
    path = write(tmp_path, "Nom;Téléphone;Ville\nAda;+24106123456;Libreville\nBen;06234567;Oyem\n")
    assert numbers_from_csv(path) == ["+24106123456", "06234567"]


def test_a_file_without_header_reads_its_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, "+24106123456\n\n06234567\n")
    assert numbers_from_csv(path) == ["+24106123456", "06234567"]


def test_a_column_is_chosen_by_name_or_by_position(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffid,fixe,mobile\n1,011234567,+24106123456\n2,,06234567\n")
    assert numbers_from_csv(path, "Mobile") == ["+24106123456", "06234567"]
    assert numbers_from_csv(path, "2") == ["011234567"]


@pytest.mark.parametrize(("text", "column", "says"), [
    ("", None, "est vide"),
    ("nom,mobile\nAda,\n", None, "aucun numéro"),
    ("nom,mobile\nAda,061\n", "fax", "pas de colonne « fax »"),
])
def test_a_file_without_numbers_says_why(tmp_path: Path, text: str, column: str | None, says: str) -> None:
    with pytest.raises(CsvError, match=says):
        numbers_from_csv(write(tmp_path, text), column)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
    assert percentile([], 50) == 0.0 and percentile([7.0], 99) == 7.0


def test_generated_recipients_are_distinct_gabonese_mobiles() -> None:
    assert (number(0), number(999_999), number(1_000_000)) == ("+24106000000", "+24106999999", "+24107000000")
    plan = Plan("http://x", "k", 3, 1, "MULDES", 4, "CHARGE", "x", 1.0, 0.1)
    numeros = [n for i in range(3) for n in plan.body(i)["numeros"]]
    assert len(set(numeros)) == 12
