"""Pieces every scenario shares: request payloads, reply matching, verdicts. Pure code."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from grader.model import Cause, Step

Transform = Callable[[bytes], bytes]  # what the server must do to a request: the assignment's rule

PAYLOADS = ("words", "non_ascii", "non_utf8", "empty")
MIN_LENGTH = 64  # padded lines are never shorter than a natural line, so padding never cuts one

_WORDS = (
    "socket",
    "datagram",
    "stream",
    "packet",
    "port",
    "kurose",
    "ross",
    "network",
    "layer",
    "transport",
    "hello",
    "world",
    "grader",
    "server",
    "client",
    "reply",
    "request",
    "upper",
)
_NON_ASCII = ("café", "straße", "élève", "ñandú", "größe", "garçon", "smörgåsbord")


@dataclass
class Verdict:
    """What a scenario concluded; the engine adds sandbox facts (crash, output) to it."""

    passed: bool
    summary: str
    evidence: list[str] = field(default_factory=list)
    cause: Cause | None = None
    timed: bool = False  # the failure rests on a time limit: what did not come in time might on a quieter machine
    steps: list[Step] = field(default_factory=list)  # the exchange as it happened, for its sequence diagram


def make_payloads(kind: str, count: int, seed: int, tag: str, length: int = 0) -> list[bytes]:
    """Distinct request lines, so that replies can be matched to requests by content alone.

    ``tag`` keeps lines of different clients apart; ``length`` pads each line to exactly that
    many bytes (long-line checks).
    """
    if kind not in PAYLOADS:
        raise ValueError(f"unknown payload {kind!r}")
    rng = random.Random(f"{seed}:{tag}:{kind}")
    lines = []
    for i in range(count):
        if kind == "empty":
            lines.append(b"")
            continue
        if kind == "non_ascii":
            text = f"{rng.choice(_NON_ASCII)} {rng.choice(_NON_ASCII)} {tag} {i}"
            line = text.encode()
        elif kind == "non_utf8":
            line = f"caf{tag} {i} ".encode() + b"\xe9\xff\xfe latin-1 " + bytes([0x80 + i % 64])
        else:
            line = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {tag} message {i}".encode()
        if length:
            line = _pad(line, length, rng)
        lines.append(line)
    return lines


def _pad(line: bytes, length: int, rng: random.Random) -> bytes:
    """Extend with ASCII words to exactly `length` bytes; the line itself is never cut."""
    if len(line) > length:
        raise ValueError(f"a line of {len(line)} bytes cannot be padded to {length}")
    filler = b""
    while len(line) + len(filler) < length:
        filler += b" " + rng.choice(_WORDS).encode()
    return line + filler[: length - len(line)]


MAX_LINE = 300  # characters of one line of a program's output quoted in a report


def shorten(line: str, limit: int = MAX_LINE) -> str:
    """One quoted output line, cut where a program printed megabytes without a newline."""
    return line if len(line) <= limit else f"{line[:limit]}… ({len(line) - limit} more characters)"


def quoted_output(label: str, text: str, lines: int) -> str:
    """A program's last lines of output for evidence, indented so that no line of it can pass for the grader's."""
    kept = text.rstrip("\n").splitlines()[-lines:]
    if not "".join(kept).strip():
        return f"{label}: (none)"
    return f"{label} (last lines):\n" + "\n".join(f"    {shorten(line)}" for line in kept)


def same_reply(got: bytes, expected: bytes) -> bool:
    """Replies match exactly, except for a trailing newline some servers add or strip."""
    return reply_key(got) == reply_key(expected)


def reply_key(data: bytes) -> bytes:
    """What `same_reply` compares: two replies are the same exactly when their keys are equal."""
    return data.rstrip(b"\r\n")


def show(data: bytes, limit: int = 60) -> str:
    """Bytes as the text they hold, quoted and sized: only what is not printable is escaped.

    A line break shows as \\n, a control character or a byte that is not UTF-8 as \\xNN, so
    "ñandú" reads as the student typed it and a stray NUL still shows.
    """
    text = data[:limit].decode("utf-8", "surrogateescape")
    plain = _PLAIN.fullmatch(text) is not None  # printable ASCII with nothing to escape: the common case
    quoted = '"' + (text if plain else "".join(_shown_char(ch) for ch in text)) + '"'
    return f"{quoted}… ({len(data)} bytes)" if len(data) > limit else f"{quoted} ({len(data)} bytes)"


_PLAIN = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")  # printable ASCII but the quote and the backslash
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}


def _shown_char(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte that is not UTF-8, as surrogateescape holds it
        return f"\\x{ord(ch) - 0xDC00:02x}"
    return ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def _missed_letters(request: bytes) -> list[str]:
    """The letters of `request` that bytes.upper() leaves as they are and str.upper() changes: é, ñ, ß..."""
    text = request.decode("utf-8", "replace")
    return sorted({ch for ch in text if not ch.isascii() and ch.upper() != ch})


def explain_wrong_reply(got: bytes, expected: bytes, request: bytes) -> tuple[str, Cause | None]:
    """Name what is wrong with a reply, and the likely cause when it is recognisable."""
    g, e = got.rstrip(b"\r\n"), expected.rstrip(b"\r\n")
    if g == request.rstrip(b"\r\n") and g != e:
        return (
            "the reply is the request unchanged",
            Cause("echo", "the server echoes without upper-casing: apply .upper() to the decoded text"),
        )
    if e.startswith(g) and len(g) < len(e):
        return (
            f"the reply is truncated: {len(got)} of {len(expected)} bytes",
            Cause(
                "truncated-reply",
                f"reply truncated at {len(got)} bytes: the receive buffer is too small "
                f"(recvfrom({len(got)}) / recv({len(got)})?); use 2048 for UDP lines, loop on recv for TCP",
            ),
        )
    missed = _missed_letters(request)
    if missed and g == request.rstrip(b"\r\n").upper():
        letters = " and ".join([", ".join(missed[:-1]), missed[-1]] if len(missed) > 1 else missed)
        return (
            f"{letters} {'were' if len(missed) > 1 else 'was'} not upper-cased: the server upper-cases the bytes, "
            "which changes ASCII letters only",
            Cause("bytes-upper", "decode first, then upper-case the text: message.decode().upper().encode()"),
        )
    if g.upper() == e and g != e:
        return "the reply is not fully upper-cased", Cause(
            "partly-upper", "upper-case the whole decoded text with str.upper()"
        )
    if e and e in g:
        extra = show(g.replace(e, b"", 1), 40)
        return (
            f"the reply holds the expected line and more: {extra}",
            Cause(
                "extra-text",
                "send back only the upper-cased line; put labels such as 'From server:' in the client's print",
            ),
        )
    if g.strip().isdigit():
        return (
            f"the reply is a number ({g.strip().decode()}), not the line upper-cased",
            Cause("other-transform", "reply with the upper-cased line itself, not its length or a count"),
        )
    return "the reply differs from the expected one", None
