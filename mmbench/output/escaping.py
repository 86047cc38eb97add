"""Text from the user (CSV cells, config values, names, file names) made safe for the formats mmbench
writes: html text and attributes, URLs, markdown table cells and code spans. Every page and board
writer uses these; none builds markup from a value any other way.
"""
from __future__ import annotations

import html
import re
import urllib.parse

from ..errors import short


def html_text(value) -> str:
    """Html text and (quoted) attribute values: every ``<>&"'`` escaped."""
    return html.escape(str(value), quote=True)


def safe_url(target) -> str | None:
    """``target`` as an href that can only open a page: an http(s) URL as given, or a relative path
    (each part percent-encoded, ``./`` first, so ``javascript:x`` is a file name, never a scheme);
    anything else (other schemes, absolute or parent paths) None: shown as text, not linked."""
    text = str(target)
    scheme = urllib.parse.urlsplit(text).scheme.lower() if ":" in text else ""
    if scheme in ("http", "https") and not any(c in text for c in "\x00\n\r\t\\<>\"' "):
        return text
    parts = text.split("/")
    if not text or "\\" in text or any(p in ("", ".", "..") for p in parts):
        return None
    return "./" + "/".join(urllib.parse.quote(p, safe="") for p in parts)


#: markdown that a value could start: html and entities, links and images, code spans, emphasis, table cells
_MD_PUNCT = re.compile(r"([\\`*\[\]|~!])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # snake_case stays readable


def md_text(value, limit: int = 120) -> str:
    """A value as markdown text (a table cell, a line): one line, shortened, every character that could
    start markup escaped (``<`` and ``&`` as entities, so raw html and autolinks stay text)."""
    text = short(str(value if value is not None else ""), limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_PUNCT.sub(r"\\\1", text)
    return _MD_UNDERSCORE.sub(r"\\_", text)


def md_code(value, limit: int = 120) -> str:
    """A value as a markdown code span in a table cell: shown exactly (nothing inside is markup); a
    backtick in it lengthens the fence, a pipe is escaped for the table."""
    text = short(str(value if value is not None else ""), limit).replace("|", "\\|")
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_url(target) -> str:
    """A link target for markdown: :func:`safe_url`, with ``(`` and ``)`` encoded; ``#`` where unsafe."""
    url = safe_url(target)
    return "#" if url is None else url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
