"""The one way nimgen reads YAML and JSON it did not write.

Every reader (``render --from``, ``airgap --from``, ``diff``, ``--previous``,
``validate``, ``--models-file``, ``--eu-list``) parses through here, so they all
refuse the same files for the same reasons:

- a key given twice in one mapping or object: kubectl refuses such a file and
  PyYAML or ``json`` would silently keep the last value (a hand-edited ConfigMap
  could lose a model without a word). The message names the file, line and key;
- YAML aliases (``*name``): a ConfigMap has no use for them, and a few nested
  ones expand a 550-byte file into gigabytes. They are refused where they are
  read, before anything is built from them;
- nesting deeper than ``MAX_DEPTH`` and files of more than ``MAX_NODES``
  nodes, so neither a recursion overflow nor a flood of small nodes can take
  the process down.

Sizes are bounded before parsing, by ``nimgen.files``. The YAML side is
PyYAML's pure-Python SafeLoader, whose composer can be stopped at the first
alias; the C loader builds the whole node graph first. YAML that nimgen's own
writer produced (the previous tree's ConfigMap, read on every run over it, and most
files given to ``validate``) is read by a line scan first, proved by writing it again
(see ``read_own_yaml``): the same data in a tenth of the time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nimgen.errors import BadInput
from nimgen.files import (
    JSON_MAX_BYTES,
    YAML_MAX_BYTES,
    UnreadableFile,
    decode_utf8,
    read_regular_file,
)
from nimgen.ownyaml import read_own_yaml

# A ConfigMap nests four levels; the other objects of a `kubectl kustomize` stream
# (``validate -``), an OpenShift Template around a ServingRuntime, about fifteen.
MAX_DEPTH = 64
# Two nodes a model: a ConfigMap under 1 MiB holds at most about 4,000 models.
MAX_NODES = 20_000


class YamlProblem(Exception):
    """Why a YAML text cannot be read. ``refused``: a limit (alias, depth, node count)
    rather than a syntax error."""

    def __init__(self, line: int | None, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.refused = refused

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        kind = "" if self.refused else "not valid YAML: "
        return f"{where}{kind}{self.message}"


@dataclass(frozen=True)
class DuplicateKey:
    """A key given twice in one mapping: where it first was and where it came again."""

    mapping: Node
    key: Any
    first_line: int
    line: int


class StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses aliases, deep nesting and huge node counts as it
    composes, and records (rather than resolves) every key given twice.

    Keys brought in by a merge (``<<``) could override, as YAML intends, but a
    merge needs an alias, and aliases are refused.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[DuplicateKey] = []
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise YamlProblem(
                event.start_mark.line + 1,
                f"the alias *{event.anchor} is refused: nimgen reads no YAML aliases "
                "(a ConfigMap has no use for them, and nested ones can expand a small "
                "file into gigabytes); write the value out",
                refused=True,
            )
        self._nodes += 1
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH or self._nodes > MAX_NODES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                what = (
                    f"nested deeper than {MAX_DEPTH} levels"
                    if self._depth > MAX_DEPTH
                    else f"more than {MAX_NODES:,} values"
                )
                raise YamlProblem(
                    mark.line + 1,
                    f"refused: {what}, far beyond any ConfigMap or model list",
                    refused=True,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode):
                    continue  # the base class refuses unhashable keys itself
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.duplicates.append(DuplicateKey(node, key, seen[key], line))
                else:
                    seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # Python reads no integer of more than 4300 digits
            raise YamlProblem(
                node.start_mark.line + 1,
                "refused: a number with thousands of digits, far beyond any ConfigMap or "
                "model list",
                refused=True,
            ) from None


# The base class registers its own function for ints: point the tag at the override.
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)


@dataclass
class ParsedDocument:
    """One YAML document: its node tree, its data and the duplicates found in it."""

    index: int  # 1-based
    # None when ``read_own_yaml`` read it: nimgen's writer gives no key twice, and
    # the node tree only serves to name the mapping of a duplicate.
    node: Node | None
    data: Any
    size: int  # bytes of the document's text
    duplicates: list[DuplicateKey] = field(default_factory=list)


def parse_documents(text: str) -> list[ParsedDocument]:
    """Every document of ``text``; raises ``YamlProblem``. Duplicates are recorded,
    not raised (``validate`` reports them beside its other findings)."""
    own = read_own_yaml(text, max_depth=MAX_DEPTH, max_nodes=MAX_NODES)
    if own is None:
        return compose_documents(text)
    data, size = own
    return [ParsedDocument(index=1, node=None, data=data, size=size)]


def compose_documents(text: str) -> list[ParsedDocument]:
    """``parse_documents`` by ``StrictLoader`` alone, whatever wrote ``text``."""
    loader = StrictLoader(text)
    documents: list[ParsedDocument] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            before = len(loader.duplicates)
            data = loader.construct_document(node)
            size = len(text[node.start_mark.index : node.end_mark.index].encode("utf-8"))
            documents.append(
                ParsedDocument(
                    index=len(documents) + 1,
                    node=node,
                    data=data,
                    size=size,
                    duplicates=loader.duplicates[before:],
                )
            )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "parse error"
        raise YamlProblem(mark.line + 1 if mark else None, problem) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, _first_line(exc)) from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops it first
        raise YamlProblem(None, "nested too deeply", refused=True) from None
    finally:
        loader.dispose()
    return documents


def mapping_paths(root: Node | None) -> dict[int, str]:
    """``id(mapping node) -> dotted path`` (``metadata.labels``) over a document."""
    paths: dict[int, str] = {}
    if root is None:  # read by read_own_yaml: no duplicate to place
        return paths
    pending: list[tuple[Node, str]] = [(root, "")]
    while pending:
        node, path = pending.pop()
        if isinstance(node, MappingNode):
            if id(node) in paths:
                continue
            paths[id(node)] = path
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, ScalarNode) else "?"
                pending.append((value_node, f"{path}.{key}" if path else str(key)))
        elif isinstance(node, SequenceNode):
            pending.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))
    return paths


def duplicate_message(document: ParsedDocument, duplicate: DuplicateKey) -> str:
    """``line 21: duplicate key 'x' in data (first at line 10): ...``"""
    path = mapping_paths(document.node).get(id(duplicate.mapping), "")
    where = f" in {path}" if path else ""
    return (
        f"line {duplicate.line}: duplicate key {str(duplicate.key)!r}{where} (first at line "
        f"{duplicate.first_line}): kubectl refuses the file, and YAML readers that accept "
        "it keep only the last value; remove one"
    )


def load_yaml_documents(text: str, *, source: str) -> list[Any]:
    """The non-empty documents of ``text``, strictly: any problem, a duplicate key
    included, is a ``BadInput`` (exit 2) naming ``source`` and the line."""
    try:
        documents = parse_documents(text)
    except YamlProblem as exc:
        raise BadInput(f"{source}: {exc}") from None
    for document in documents:
        for duplicate in document.duplicates:
            raise BadInput(f"{source}: {duplicate_message(document, duplicate)}")
    return [d.data for d in documents if d.data is not None]


def read_yaml_file(path: Path, *, what: str = "", max_bytes: int = YAML_MAX_BYTES) -> list[Any]:
    """The documents of the YAML file at ``path`` (bounded, strict; see the module)."""
    text = decode_utf8(read_regular_file(path, what=what, max_bytes=max_bytes), label=str(path))
    return load_yaml_documents(text, source=str(path))


# --- JSON ------------------------------------------------------------------------------


class DuplicateJsonKey(ValueError):
    """A key given twice in one JSON object (``args[0]``), from ``refuse_duplicate_keys``."""


def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``'s ``object_pairs_hook`` that raises ``DuplicateJsonKey`` instead of
    keeping the last of two values."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateJsonKey(key)
        result[key] = value
    return result


def load_json(text: str, *, source: str) -> Any:
    """``text`` as JSON, strictly: a key twice in one object, invalid JSON and
    nesting deeper than Python's recursion limit are ``BadInput`` naming ``source``."""
    try:
        return json.loads(text, object_pairs_hook=refuse_duplicate_keys)
    except DuplicateJsonKey as exc:
        raise BadInput(
            f"{source}: duplicate key {exc.args[0]!r} in one JSON object: "
            "a reader would keep only one of the two values; remove one"
        ) from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{source}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise UnreadableFile(
            f"{source}: refused: JSON nested too deeply to be a nimgen input",
            "refused: JSON nested too deeply to be a nimgen input",
        ) from None


def read_json_file(path: Path, *, what: str = "", max_bytes: int = JSON_MAX_BYTES) -> Any:
    """The JSON document in the file at ``path`` (bounded, strict)."""
    raw = read_regular_file(path, what=what, max_bytes=max_bytes)
    return load_json(decode_utf8(raw, label=str(path)), source=str(path))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
