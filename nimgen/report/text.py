"""Text from outside (model names, tags, NGC's strings, file contents) made safe to show.

``visible`` turns control, format (bidi, zero-width), line-separator and lone-surrogate
characters into escapes such as ``\\x1b`` or ``\\u202e``, so that a name cannot move the
cursor, fake a line of output or reverse what follows it; and no line it returns starts
with ``::``, which GitHub Actions reads as a workflow command. ``encodable`` keeps a
character the stream cannot encode as an escape too, and ``pick`` chooses between a
symbol (``→``) and its ASCII fallback (``->``) for that stream, so any locale works.
"""

from __future__ import annotations

import codecs
import unicodedata

_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every hidden character as an escape, never starting with ``::``."""
    if not text.isprintable():
        text = "".join(_escape(c) if unicodedata.category(c) in _HIDDEN else c for c in text)
    start = len(text) - len(text.lstrip())
    if text.startswith("::", start):
        text = text[:start] + "\\x3a" + text[start + 1 :]
    return text


def first_names(names: tuple[str, ...] | list[str], limit: int = 10) -> str:
    """The first ``limit`` names, then how many more: ``a, b, ... (+3)``."""
    shown = ", ".join(names[:limit])
    return shown + (f", ... (+{len(names) - limit})" if len(names) > limit else "")


def _codec(encoding: str | None) -> str:
    try:
        return codecs.lookup(encoding or "utf-8").name
    except LookupError:
        return "ascii"


def encodable(text: str, encoding: str | None) -> str:
    """``text`` with what ``encoding`` cannot encode as backslash escapes."""
    codec = _codec(encoding)
    return text.encode(codec, "backslashreplace").decode(codec)


def pick(symbol: str, fallback: str, encoding: str | None) -> str:
    """``symbol`` where ``encoding`` can encode it, else ``fallback``."""
    try:
        symbol.encode(_codec(encoding))
    except UnicodeEncodeError:
        return fallback
    return symbol
