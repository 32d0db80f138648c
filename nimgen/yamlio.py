"""The one way nimgen reads YAML and JSON it did not write, so every reader refuses the same
files: a key given twice (kubectl refuses it; PyYAML and ``json`` keep the last value),
YAML aliases (a few nested ones expand a small file into gigabytes), nesting deeper than
``MAX_DEPTH`` and more than ``MAX_NODES`` nodes. A pass over the parse events refuses
these before a node is built (libyaml's composer builds a whole document at once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nimgen.errors import BadInput
from nimgen.files import (
    YAML_MAX_BYTES,
    UnreadableFile,
    decode_utf8,
    read_regular_file,
)

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

# A ConfigMap nests four levels; the other objects of a `kubectl kustomize` stream
# (``validate -``), an OpenShift Template around a ServingRuntime, about fifteen.
MAX_DEPTH = 64
# Two nodes a model: a ConfigMap under 1 MiB holds at most about 4,000 models.
MAX_NODES = 20_000


class YamlProblem(Exception):
    """Why a YAML text cannot be read. ``refused``: a limit rather than a syntax error."""

    def __init__(self, line: int | None, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.refused = refused

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        kind = "" if self.refused else "not valid YAML: "
        return f"{where}{kind}{self.message}"


def _beyond(line: int | None, what: str) -> YamlProblem:
    return YamlProblem(
        line, f"refused: {what}, far beyond any ConfigMap or model list", refused=True
    )


_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


@dataclass(frozen=True)
class DuplicateKey:
    mapping: Node
    key: Any
    first_line: int
    line: int


class StrictLoader(SafeLoader):
    """PyYAML's safe loader that records every key given twice. Merge keys (``<<``) are
    skipped: a merge needs an alias, refused before this loader runs."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[DuplicateKey] = []

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
            raise _beyond(node.start_mark.line + 1, "a number with thousands of digits") from None


# The base class registers its own function for ints: point the tag at the override.
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)


@dataclass
class ParsedDocument:
    index: int  # 1-based
    node: Node
    data: Any
    size: int  # bytes of the document's text
    duplicates: list[DuplicateKey] = field(default_factory=list)


def _check_events(text: str) -> None:
    depth = nodes = 0
    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, CollectionEndEvent):
            depth -= 1
        if not isinstance(event, NodeEvent):
            continue
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, AliasEvent):
            raise YamlProblem(
                line,
                f"the alias *{event.anchor} is refused: nimgen reads no YAML aliases "
                "(a ConfigMap has no use for them, and nested ones can expand a small "
                "file into gigabytes); write the value out",
                refused=True,
            )
        nodes += 1
        if depth >= MAX_DEPTH or nodes > MAX_NODES:
            raise _beyond(
                line, _TOO_DEEP if depth >= MAX_DEPTH else f"more than {MAX_NODES:,} values"
            )
        if isinstance(event, CollectionStartEvent):
            depth += 1


def parse_documents(text: str) -> list[ParsedDocument]:
    """Every document of ``text``; duplicates are recorded, not raised (for ``validate``)."""
    documents: list[ParsedDocument] = []
    try:
        _check_events(text)
        loader = StrictLoader(text)
        try:
            # check_node first: libyaml's get_node fails on a stream it has not started.
            while loader.check_node() and (node := loader.get_node()) is not None:
                before = len(loader.duplicates)
                data = loader.construct_document(node)
                size = len(text[node.start_mark.index : node.end_mark.index].encode("utf-8"))
                duplicates = loader.duplicates[before:]
                documents.append(ParsedDocument(len(documents) + 1, node, data, size, duplicates))
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if exc.problem == "exceeded maximum nesting depth":  # libyaml's limit, met scanning ahead
            raise _beyond(line, _TOO_DEEP) from None
        raise YamlProblem(line, exc.problem or exc.context or "parse error") from None
    except yaml.YAMLError as exc:
        text = str(exc).strip()
        raise YamlProblem(None, text.splitlines()[0] if text else type(exc).__name__) from None
    return documents


def mapping_paths(root: Node) -> dict[int, str]:
    """``id(mapping node) -> dotted path`` (``metadata.labels``) over a document."""
    paths: dict[int, str] = {}
    pending: list[tuple[Node, str]] = [(root, "")]
    while pending:
        node, path = pending.pop()
        if isinstance(node, MappingNode):
            paths[id(node)] = path
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, ScalarNode) else "?"
                pending.append((value_node, f"{path}.{key}" if path else str(key)))
        elif isinstance(node, SequenceNode):
            pending.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))
    return paths


def load_yaml_documents(text: str, *, source: str) -> list[Any]:
    """The non-empty documents of ``text``; any problem is a ``BadInput`` naming ``source``."""
    try:
        documents = parse_documents(text)
    except YamlProblem as exc:
        raise BadInput(f"{source}: {exc}") from None
    return document_values(documents, source=source)


def document_values(documents: list[ParsedDocument], *, source: str) -> list[Any]:
    """The data of the non-empty ``documents``; a duplicate key is a ``BadInput`` naming
    ``source``."""
    for document in documents:
        for duplicate in document.duplicates:
            path = mapping_paths(document.node).get(id(duplicate.mapping), "")
            raise BadInput(
                f"{source}: line {duplicate.line}: duplicate key {str(duplicate.key)!r}"
                f"{f' in {path}' if path else ''} (first at line {duplicate.first_line}): "
                "kubectl refuses the file, and YAML readers that accept it keep only the "
                "last value; remove one"
            )
    return [d.data for d in documents if d.data is not None]


def read_yaml_file(path: Path, *, what: str = "", max_bytes: int = YAML_MAX_BYTES) -> list[Any]:
    text = decode_utf8(read_regular_file(path, what=what, max_bytes=max_bytes), label=str(path))
    return load_yaml_documents(text, source=str(path))


class DuplicateJsonKey(ValueError):
    """A key given twice in one JSON object (``args[0]``)."""


def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateJsonKey(key)
        result[key] = value
    return result


def load_json(text: str, *, source: str) -> Any:
    """``text`` as JSON; a duplicate key, invalid JSON or deep nesting is ``BadInput``."""
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
        reason = "refused: JSON nested too deeply to be a nimgen input"
        raise UnreadableFile(f"{source}: {reason}", reason) from None
