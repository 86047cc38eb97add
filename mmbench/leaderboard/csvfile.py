"""A leaderboard CSV's text as (comment lines, header, rows), whatever saved it last.

The first line is not trusted to be the header: people and spreadsheets edit these files. Comment lines
(``#``) and blank lines before the header are kept aside (and written back); a UTF-16 save (Excel's
"Unicode text") is decoded; the field separator is the one (``,``, ``;`` or tab) that splits the header
into mmbench's column names, and a ``;`` save's decimal commas (``0,7512``) are read as numbers. A
file whose header cannot be found, or names a column twice, is refused with one line naming it: read
as it is, every row would vanish from every view, or show one column's number for another.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, short
from ..run.row import COLUMNS, NUMBER_COLUMNS

#: text encoding of mmbench's own CSV: a BOM is skipped; bytes that are not UTF-8 are kept as they are
#: through a read and a rewrite
ENCODING, ERRORS = "utf-8-sig", "surrogateescape"
DELIMITERS = (",", ";", "\t")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+([eE][-+]?\d+)?$")
_KNOWN = set(COLUMNS)


@dataclass
class Table:
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    preamble: str = ""  # comment and blank lines before the header, as they were
    converted: list[str] = field(default_factory=list)  # how the file differs from mmbench's format


def _decode(path: Path, data: bytes) -> tuple[str, list[str]]:
    utf16 = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        utf16 = "utf-16"
    elif len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] and data[2]:
        utf16 = "utf-16-le"
    elif len(data) >= 4 and data[0] == 0 and data[2] == 0 and data[1] and data[3]:
        utf16 = "utf-16-be"
    if utf16 is None:
        return data.decode(ENCODING, ERRORS), []
    try:
        return data.decode(utf16), ["UTF-16 text"]
    except UnicodeDecodeError:
        raise DataError(f"leaderboard {short(str(path), 200)} looks like UTF-16 text but cannot be decoded; save "
                        f"it again as CSV UTF-8 (comma-separated), or move it away") from None


def _split_preamble(text: str) -> tuple[str, str]:
    """(comment and blank lines before the header, the rest)."""
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        offset += len(line)
    return text[:offset], text[offset:]


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _delimiter(line: str) -> tuple[str, int]:
    """The separator that splits ``line`` into the most of mmbench's column names, and how many."""
    best = (",", 0)
    for d in DELIMITERS:
        known = sum(1 for name in next(csv.reader([line], delimiter=d), []) if name.strip() in _KNOWN)
        if known > best[1]:
            best = (d, known)
    return best


def parse(path: Path, data: bytes) -> Table:
    text, converted = _decode(path, data)
    preamble, body = _split_preamble(text)
    if not body.strip():
        return Table(preamble=preamble, converted=converted)
    line = _first_line(body)
    delimiter, known = _delimiter(line)
    where = f"line {preamble.count(chr(10)) + 1}"
    if known == 0:
        raise DataError(f"leaderboard {short(str(path), 200)}: {where} ({short(repr(line), 60)}) is not a header "
                        f"naming mmbench's columns ({', '.join(COLUMNS[:3])}, ..., config_hash); it was not "
                        f"written by mmbench or lost its header: restore the header line, or move the file away "
                        f"to start a new leaderboard")
    header, *rows = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    names = [h.strip() for h in header if h.strip()]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"leaderboard {short(str(path), 200)}: column {short(', '.join(twice), 80)} appears twice in "
                        f"its header ({where}), so its rows cannot say which value is which; remove the extra "
                        f"column (keep the one mmbench wrote), or move the file away")
    if delimiter != ",":
        converted.append(f"'{delimiter}'-separated" if delimiter != "\t" else "tab-separated")
        numeric = [i for i, h in enumerate(header) if h in NUMBER_COLUMNS]
        for row in rows:
            for i in numeric:
                if i < len(row) and _DECIMAL_COMMA.match(row[i]):
                    row[i] = row[i].replace(",", ".")
    return Table(header=header, rows=rows, preamble=preamble, converted=converted)


def dump(table: Table) -> bytes:
    """mmbench's format: UTF-8, comma-separated, the comment lines first."""
    buf = io.StringIO()
    preamble = table.preamble
    if preamble and not preamble.endswith(("\n", "\r")):
        preamble += "\n"
    buf.write(preamble)
    csv.writer(buf, lineterminator="\n").writerows([table.header, *table.rows])
    return buf.getvalue().encode("utf-8", ERRORS)
