"""Any name a submission brings (folder, zip, LMS file name), made safe for where the grader writes it.

A name may hold bytes that are not UTF-8 (old zips unpacked on Linux give them; Python
holds them as surrogate escapes), control characters, an ESC that a terminal obeys, a
leading `-` that a program takes for an option, a leading `=` that a spreadsheet runs,
or 250 characters that leave no room for `.xml`. Three views answer three needs:

- `report_key`: the student's name in file names, JUnit, CSV and `--only`: printable,
  bounded, never starting with `-`, `.` or a formula character; a name that had to
  change keeps a short hash of its original bytes, so two students never share a key;
- `shown`: for the terminal and for text that quotes a name, every control character
  written as an escape, bounded (`terminal_text`: the same for a whole report, lines kept);
- `csv_cell`: a spreadsheet cell that cannot run as a formula (OWASP's advice);
- `markdown_text`, `markdown_code`: text and code inside Markdown that no renderer takes
  for a link, an image, HTML or emphasis.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata

MAX_KEY_CHARS = 80  # leaves room for ".xml", ".key", ".json" and a hash within 255 bytes
MAX_SHOWN_CHARS = 200
_HASH_CHARS = 8
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_KEY_CHAR = re.compile(r"[\w .,()@+=~-]")  # \w is Unicode: letters and digits of any script
_BAD_KEY_START = "-.=+@ ~"


def original_bytes(name: str) -> bytes:
    """The bytes the file system gave for `name` (surrogate escapes back to their bytes)."""
    return os.fsencode(name)


def report_key(name: str) -> str:
    """A name every file system, XML file, terminal and spreadsheet takes as it is."""
    kept = "".join(ch if _printable(ch) and _KEY_CHAR.fullmatch(ch) else "_" for ch in name)
    kept = " ".join(kept.split())  # no leading, trailing or repeated blanks
    kept = kept.lstrip(_BAD_KEY_START) or "student"
    if kept == name and len(kept) <= MAX_KEY_CHARS:
        return kept
    digest = hashlib.sha256(original_bytes(name)).hexdigest()[:_HASH_CHARS]
    return f"{kept[: MAX_KEY_CHARS - _HASH_CHARS - 1].rstrip()}~{digest}"


# Printable ASCII needs no escape: the common case, checked at once instead of per character.
_PLAIN = re.compile(r"[\x20-\x7e]*")
_PLAIN_LINES = re.compile(r"[\x20-\x7e\n\t]*")


def shown(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """`text` with every control, format or undecodable character as an escape, at most `limit` characters."""
    if len(text) <= limit and _PLAIN.fullmatch(text):
        return text
    cut = text[:limit]  # an escape is never shorter than its character: the rest cannot show
    out = "".join(ch if _printable(ch) or ch == " " else _escape(ch) for ch in cut)
    return out if len(out) <= limit and cut == text else out[: limit - 1] + "…"


def terminal_text(text: str) -> str:
    """`text` as `shown` writes it, line breaks and tabs kept, unbounded: a report a terminal prints, never obeys."""
    if _PLAIN_LINES.fullmatch(text):
        return text
    return "".join(ch if _printable(ch) or ch in " \n\t" else _escape(ch) for ch in text)


def csv_cell(text: str) -> str:
    """A cell a spreadsheet shows as text: one starting with = + - @ (or tab, CR) gets a leading quote."""
    return "'" + text if text.startswith(_FORMULA_START) else text


# Text is kept on one line and never starts one, so only characters that open a construct
# mid-line are escaped: brackets (links, images), angle brackets (HTML, autolinks), emphasis,
# code, tables, strike-through. A parenthesis after an escaped bracket starts nothing.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>!|~])")


def markdown_text(text: str) -> str:
    """A student's bytes shown as text inside Markdown: one line, no link, image, HTML or emphasis of theirs renders."""
    return _MARKDOWN.sub(r"\\\1", " ".join(shown(text, 10_000).split()))


def markdown_code(text: str) -> str:
    """An inline code span that holds `text` whatever backticks it has (CommonMark: a longer run of them)."""
    line = " ".join(shown(text, 10_000).split())
    longest = max((len(run) for run in re.findall(r"`+", line)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {line} {fence}"


def _printable(ch: str) -> bool:
    # Cc: controls (ESC among them), Cf: format (bidi overrides), Cs: undecodable bytes,
    # Zl/Zp: line breaks a terminal or a CSV reader would act on.
    category = unicodedata.category(ch)
    return category not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") and (ch == " " or not ch.isspace())


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode holds it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
