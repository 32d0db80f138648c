"""The YAML nimgen writes: PyYAML's dumper, told how nimgen quotes and indents.

Every string that YAML 1.1 (PyYAML) or 1.2 (kustomize) could read as something else is
double-quoted, so a model named ``yes``, ``null``, ``007`` or ``1e3`` stays a string.
A multi-line string of printable ASCII is a literal block, so a diff of a ConfigMap shows
one changed line per changed field. Block sequences are indented under their key, as
nimgen's files always were: libyaml's emitter cannot indent them, so this is PyYAML's
own emitter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import yaml

Node = Mapping[str, "Node"] | Sequence["Node"] | str | bool | int | None

# A string starting with a letter and made of these characters is read as that
# string by YAML 1.1 and 1.2 alike, unless it is one of the words below.
_PLAIN = re.compile(r"[A-Za-z][-A-Za-z0-9._/]*")
_YAML11_WORDS = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null"])
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e\n]")


def _style(text: str) -> str | None:
    """Plain (None), a literal block ``|`` or double-quoted ``"``."""
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML11_WORDS:
        return None
    literal = (
        text.endswith("\n")
        and not text.endswith("\n\n")
        and text[0] not in " \n"
        and " \n" not in text  # no line ends in a space
        and _NOT_PRINTABLE.search(text) is None
    )
    return "|" if literal else '"'


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True  # a value given twice is written twice: YAML readers need no aliases

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # a block sequence indented under its key


def _represent_str(dumper: _Dumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=_style(text))


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(tuple, _Dumper.represent_list)


def dump(document: Mapping[str, Node]) -> str:
    """One YAML document, ending in a single newline."""
    return yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=2**31 - 1,  # never fold a long string
    )
