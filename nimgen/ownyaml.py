"""YAML that nimgen's own writer produced, read without PyYAML (``read_own_yaml``).

The previous tree's ConfigMap is read on every run over an existing ``--output``, and
most files given to ``validate`` are nimgen's: PyYAML's pure-Python loader takes about
0.4 s for a 1000-model ConfigMap, this line scan a few hundredths. ``nimgen.yamlio``
tries it first and falls back to its strict loader for anything else.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from nimgen.yamlout import dump

# Printable ASCII and line feeds: all nimgen writes into a ConfigMap (entries are
# ASCII-escaped JSON). This rules out whatever YAML readers treat specially - tabs,
# carriage returns, byte order marks, NEL and the Unicode line separators, characters
# PyYAML refuses - and makes string indexes byte offsets.
_NOT_PLAIN_ASCII = re.compile(r"[^\x20-\x7e\n]")
_PLAIN_TEXT = r"[A-Za-z][-A-Za-z0-9._/]*"  # what the writer leaves unquoted
_QUOTED_TEXT = r'"((?:[^"\\]|\\.)*)"'
_PLAIN = re.compile(_PLAIN_TEXT)
_QUOTED = re.compile(_QUOTED_TEXT)
# One ``key: value`` line of a mapping, after its indentation; no value when a nested
# block follows.
_ENTRY = re.compile(rf"(?:(?P<plain>{_PLAIN_TEXT})|{_QUOTED_TEXT}):(?: (?P<value>.+))?")
_ESCAPE = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|.)")
_ESCAPED = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
_INT = re.compile(r"-?[0-9]{1,18}")  # the writer's ints are counts; int() caps digits
_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None}


class _NotOwn(Exception):
    """The text is not (exactly) what nimgen's writer produces."""


def read_own_yaml(text: str, *, max_depth: int, max_nodes: int) -> tuple[Any, int] | None:
    """``text`` read without PyYAML when it is ``#`` comment lines followed by exactly
    what ``nimgen.yamlout.dump`` writes for a mapping of mappings and scalars:
    the mapping and the size of its text; None for anything else (the caller then parses
    it in full).

    PyYAML's pure-Python loader takes about 0.4 s for a 1000-model ConfigMap; this takes
    a few hundredths. It is proved rather than trusted: the mapping read is written out
    again and must give ``text`` byte for byte. So the text is the writer's output for
    that mapping, which YAML readers read back as the same mapping (the writer's
    contract; tests/test_yamlio.py holds this reader to StrictLoader's answers) - one
    document, no alias, no key twice. Past the node or depth limits it gives up, for the
    full loader to refuse.
    """
    if not text.endswith("\n") or _NOT_PLAIN_ASCII.search(text) is not None:
        return None
    start = 0
    while text.startswith("#", start):  # the header comment
        start = text.index("\n", start) + 1
    reader = _OwnReader(text, start, max_depth, max_nodes)
    try:
        data = reader.mapping(0)
    except _NotOwn:
        return None
    if not data or dump(data) != text[start:]:
        return None
    return data, len(text) - start


class _OwnReader:
    """Reads what ``dump`` writes: ``key: scalar`` lines, ``key: |`` and its literal
    block, ``key:`` and a nested mapping two spaces in. Raises ``_NotOwn`` at anything
    else (lists included: no large file nimgen writes has them)."""

    def __init__(self, text: str, pos: int, max_depth: int, max_nodes: int) -> None:
        self.text = text
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.pos = pos  # the start of the next line to read
        self.nodes = 1  # the document's root mapping, counted as StrictLoader does

    def mapping(self, level: int) -> dict[str, Any]:
        text = self.text
        pad = "  " * level
        result: dict[str, Any] = {}
        if level + 2 > self.max_depth:  # its keys would be nested too deep: StrictLoader says so
            raise _NotOwn
        while self.pos < len(text) and text.startswith(pad, self.pos):
            end = text.index("\n", self.pos)
            entry = _ENTRY.fullmatch(text, self.pos + len(pad), end)
            if entry is None:
                raise _NotOwn
            self.pos = end + 1
            self.nodes += 2
            if self.nodes > self.max_nodes:  # StrictLoader refuses it, naming the line
                raise _NotOwn
            plain, quoted, value = entry.group("plain", 2, "value")
            key = plain if plain is not None else _unquote(quoted)
            if value is None:
                result[key] = self.mapping(level + 1)
            elif value == "|":
                result[key] = self._literal(pad + "  ")
            else:
                result[key] = _scalar(value)
        return result  # at the end, or at a line of an outer mapping

    def _literal(self, pad: str) -> str:
        # The block is every following line indented by ``pad`` or empty. One regex
        # scan finds its end and one replace takes the indentation off: a model's
        # entry is some twenty lines, a large ConfigMap a thousand entries.
        after = _block_end(pad).search(self.text, self.pos)
        end = len(self.text) if after is None else after.start()
        block = self.text[self.pos : end]
        self.pos = end
        return ("\n" + block).replace("\n" + pad, "\n")[1:]


@functools.cache
def _block_end(pad: str) -> re.Pattern[str]:
    """The first line neither indented by ``pad`` nor empty."""
    return re.compile(rf"^(?!{pad}|$)", re.MULTILINE)


def _scalar(text: str) -> Any:
    if text[0] == '"':
        quoted = _QUOTED.fullmatch(text)
        if quoted is None:
            raise _NotOwn
        return _unquote(quoted.group(1))
    if text in _WORDS:
        return _WORDS[text]
    if text == "{}":
        return {}
    if text == "[]":
        return []
    if _INT.fullmatch(text):
        return int(text)
    if _PLAIN.fullmatch(text) is None:
        raise _NotOwn
    return text  # a plain string (whether the writer leaves this one plain, dump() tells)


def _unquote(text: str) -> str:
    return _ESCAPE.sub(_unescape, text) if "\\" in text else text


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) > 1:
        return chr(int(code[1:], 16))
    if code not in _ESCAPED:
        raise _NotOwn
    return _ESCAPED[code]
