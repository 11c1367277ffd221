"""Phone numbers read from a CSV file, for a MULDES.

Which column: `column` given as a name reads the header row and takes that column;
given as a number (1 for the first) takes that position; not given, a header cell
that names a phone column (`numero`, `telephone`, `mobile`, `destinataire`, `msisdn`,
...) is taken, else the first column. A first row whose chosen cell holds no digit
is a header and is skipped. Empty cells are skipped; the gateway normalises and
deduplicates the rest. The delimiter (`,`, `;`, tab, `|`) is guessed from the file;
UTF-8, with or without a byte-order mark.
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

PHONE_HEADERS = frozenset({
    "numero", "numeros", "num", "telephone", "tel", "mobile", "portable", "gsm",
    "destinataire", "destinataires", "phone", "msisdn", "number",
})


class CsvError(ValueError):
    """The file gives no numbers: its message says why, in French."""


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _rows(text: str) -> list[list[str]]:
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(text.splitlines(), dialect) if any(c.strip() for c in row)]


def numbers_from_csv(path: Path, column: str | None = None) -> list[str]:
    """The numbers of one column of the CSV file at `path`, in file order."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError(f"{path} n'est pas un fichier texte UTF-8.") from None
    rows = _rows(text)
    if not rows:
        raise CsvError(f"{path} est vide.")
    header = [_plain(c) for c in rows[0]]
    by_name = column is not None and not column.isdigit()
    if column is not None and by_name:
        wanted = _plain(column)
        if wanted not in header:
            raise CsvError(f"{path} n'a pas de colonne « {column} » (en-têtes : {', '.join(rows[0])}).")
        index = header.index(wanted)
    elif column is not None:
        index = int(column) - 1
        if index < 0:
            raise CsvError("--colonne compte à partir de 1.")
    else:
        index = next((i for i, name in enumerate(header) if name in PHONE_HEADERS), 0)
    first = rows[0][index] if index < len(rows[0]) else ""
    body = rows[1:] if by_name or not any(c.isdigit() for c in first) else rows
    numbers = [row[index].strip() for row in body if index < len(row) and row[index].strip()]
    if not numbers:
        raise CsvError(f"{path} ne contient aucun numéro dans la colonne {index + 1}.")
    return numbers
