"""A small, deterministic YAML writer for the manifests nimgen emits.

Every string is double-quoted, so YAML 1.1 readers (PyYAML) and YAML 1.2
readers (kustomize) read back the same string: a model named ``yes``, ``null``,
``007`` or ``1e3`` stays a string. Multi-line strings that are plain printable
ASCII are written as literal blocks so that a diff of a ConfigMap shows one
changed line per changed field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

Node = Mapping[str, "Node"] | Sequence["Node"] | str | bool | int | None

_INDENT = "  "


def quote(text: str) -> str:
    """``text`` as a YAML double-quoted scalar that every YAML version reads the same."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"\\x{code:02x}")
        elif code in (0x2028, 0x2029, 0xFEFF) or 0xD800 <= code <= 0xDFFF:
            # Line separators that YAML 1.1 treats as breaks, the BOM, lone surrogates.
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e\n]")


def _literal_block_ok(text: str) -> bool:
    if "\n" not in text or not text.endswith("\n") or text.endswith("\n\n"):
        return False
    if text[0] in " \n":
        return False
    # No line ending in a space, and printable ASCII and newlines only (a substring
    # search and a one-class regex: this runs once per ConfigMap value).
    return " \n" not in text and _NOT_PRINTABLE.search(text) is None


def _scalar(value: str | bool | int | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value if _plain_ok(value) else quote(value)


def _emit(node: Node, level: int, lines: list[str]) -> None:
    pad = _INDENT * level
    if isinstance(node, Mapping):
        for key, value in node.items():
            head = f"{pad}{key if _plain_ok(key) else quote(key)}:"
            _emit_value(head, value, level, lines)
    elif isinstance(node, Sequence) and not isinstance(node, str):
        for item in node:
            if isinstance(item, Mapping) and item:
                sub: list[str] = []
                _emit(item, level + 1, sub)
                first = sub[0][len(_INDENT) * (level + 1) :]
                lines.append(f"{pad}- {first}")
                lines.extend(sub[1:])
            else:
                _emit_value(f"{pad}-", item, level, lines)
    else:
        raise TypeError(f"cannot emit a bare {type(node).__name__}")


def _emit_value(head: str, value: Node, level: int, lines: list[str]) -> None:
    if isinstance(value, Mapping):
        if not value:
            lines.append(f"{head} {{}}")
            return
        lines.append(head)
        _emit(value, level + 1, lines)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            lines.append(f"{head} []")
            return
        lines.append(head)
        _emit(value, level + 1, lines)
    elif isinstance(value, str) and _literal_block_ok(value):
        lines.append(f"{head} |")
        pad = _INDENT * (level + 1)
        # One replace indents every line (a ConfigMap holds a thousand twenty-line
        # entries); a line can only be blank, never spaces (_literal_block_ok), so the
        # blank lines that got the indentation are set right after.
        block = pad + value[:-1].replace("\n", "\n" + pad)
        if "\n\n" in value:
            block = re.sub(f"(?m)^{pad}$", "", block)
        lines.append(block)
    else:
        lines.append(f"{head} {_scalar(value)}")


# A string starting with a letter and made of these characters is read as that
# string by YAML 1.1 and 1.2 alike, unless it is one of the words below.
_PLAIN = re.compile(r"[A-Za-z][-A-Za-z0-9._/]*")
_YAML11_WORDS = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null"])


def _plain_ok(text: str) -> bool:
    return _PLAIN.fullmatch(text) is not None and text.lower() not in _YAML11_WORDS


def dump(document: Mapping[str, Node]) -> str:
    """One YAML document, ending in a single newline."""
    lines: list[str] = []
    _emit(document, 0, lines)
    return "\n".join(lines) + "\n"
