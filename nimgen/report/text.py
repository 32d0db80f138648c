"""Text from outside (model names, tags, NGC's details, file contents) made safe to show.

A terminal obeys control characters (ANSI escapes, ``\\r``), bidi controls reorder what
it draws, and in GitHub Actions a log line that starts with ``::`` is a workflow
command. Every line nimgen prints passes ``visible``.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, bidi controls, line separators, the BOM and lone surrogates.
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
    "\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` on one line, every hidden character as a visible escape (``\\x1b``,
    ``\\u202e``), never starting with ``::``."""
    shown = _HIDDEN.sub(_escape, text)
    return "\\x3a" + shown[1:] if shown.lstrip().startswith("::") else shown


def can_encode(stream: object, sample: str) -> bool:
    """Whether ``stream`` (a text stream) can write ``sample`` in its encoding."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        sample.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True
