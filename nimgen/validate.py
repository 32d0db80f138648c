"""``nimgen validate``: check nim-models-data ConfigMaps written by anyone.

The rules are the contract's (docs/nim-contract.md, "The model ConfigMap"),
and each entry is validated by the same ``ModelRecord`` that ``nimgen schema``
prints, so the checker and the published schema never disagree. YAML is read
with a loader that reports duplicate keys, which kubectl refuses and PyYAML
would silently resolve to the last one.

Every finding is a ``Problem`` printed as ``FILE: key: what is wrong``, where
``key`` is the model's key in ``data`` or the path of the field
(``metadata.name``). Warnings do not make a file invalid.

This module is imported by ``nimgen validate``, which must start fast: it
imports neither httpx nor rich.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nimgen.catalog import RECORD_FIELDS, SCHEMA_VERSION, ModelRecord, configmap_key_problem
from nimgen.render.configmap import (
    ANNOTATION_SCHEMA,
    MAX_OBJECT_BYTES,
    SUFFIX_DIGITS,
    content_digest,
)

CONFIGMAP_FIELDS = ("apiVersion", "kind", "metadata", "data", "binaryData", "immutable")

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_VERSIONED_NAME = re.compile(rf".+-(?P<suffix>[0-9a-f]{{{SUFFIX_DIGITS}}})")


def _rfc1123_problem(
    name: str, pattern: re.Pattern[str], limit: int, what: str, allowed: str
) -> str | None:
    if not name:
        return "is empty"
    if len(name) > limit:
        return f"is {len(name)} characters long (at most {limit})"
    if not pattern.fullmatch(name):
        return (
            f"{name!r} is not a valid {what} ({allowed}, "
            "starting and ending with a letter or digit)"
        )
    return None


def dns_subdomain_problem(name: str) -> str | None:
    """Why ``name`` cannot name a Kubernetes object (RFC 1123 subdomain), or None."""
    return _rfc1123_problem(
        name, _DNS_SUBDOMAIN, 253, "object name", "lower-case letters, digits, '-' and '.'"
    )


def dns_label_problem(name: str) -> str | None:
    """Why ``name`` cannot name a namespace (RFC 1123 label), or None."""
    return _rfc1123_problem(
        name, _DNS_LABEL, 63, "namespace name", "lower-case letters, digits and '-'"
    )


@dataclass(frozen=True)
class Problem:
    """One finding: ``FILE: key: what is wrong``."""

    file: str
    key: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.file}: {self.key}: {kind}{self.message}"

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "message": self.message,
            "severity": "warning" if self.warning else "error",
        }


@dataclass(frozen=True)
class FileResult:
    """What ``validate`` found in one file."""

    file: str
    problems: tuple[Problem, ...] = ()
    configmaps: int = 0
    models: int = 0
    unreadable: str | None = None  # why the file could not be read at all

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.warning)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.warning)

    @property
    def valid(self) -> bool:
        return self.unreadable is None and not self.errors

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file": self.file,
            "valid": self.valid,
            "configMaps": self.configmaps,
            "models": self.models,
            "problems": [p.as_json() for p in self.problems],
        }
        if self.unreadable is not None:
            document["unreadable"] = self.unreadable
        return document


def exit_code(results: Iterable[FileResult]) -> int:
    """0 every file valid, 1 problems found, 2 some input could not be read."""
    results = list(results)
    if any(r.unreadable is not None for r in results):
        return 2
    return 1 if any(r.errors for r in results) else 0


# --- YAML with duplicate keys detected -------------------------------------------------


@dataclass(frozen=True)
class _Duplicate:
    mapping: yaml.Node
    key: Any
    first_line: int
    line: int


class DuplicateKeyLoader(yaml.SafeLoader):
    """A ``SafeLoader`` that records every key given twice in one mapping.

    PyYAML keeps the last value silently; kubectl refuses such a file. Keys
    that come in through a merge (``<<: *anchor``) may be overridden, as YAML
    intends, and are not duplicates.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[_Duplicate] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # the base class refuses unhashable keys itself
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.duplicates.append(_Duplicate(node, key, seen[key], line))
                else:
                    seen[key] = line
        return super().construct_mapping(node, deep=deep)


@dataclass
class _Document:
    index: int  # 1-based
    node: yaml.Node
    data: Any
    size: int  # bytes of the document's text
    paths: dict[int, str] = field(default_factory=dict)  # id(mapping node) -> path
    duplicates: list[_Duplicate] = field(default_factory=list)


def _record_paths(node: yaml.Node, path: str, out: dict[int, str]) -> None:
    if id(node) in out:
        return
    if isinstance(node, yaml.MappingNode):
        out[id(node)] = path
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            _record_paths(value_node, f"{path}.{key}" if path else str(key), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_paths(item, f"{path}[{index}]", out)


class _YamlProblem(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _load_documents(text: str) -> list[_Document]:
    loader = DuplicateKeyLoader(text)
    documents: list[_Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            paths: dict[int, str] = {}
            _record_paths(node, "", paths)
            before = len(loader.duplicates)
            data = loader.construct_document(node)
            size = len(text[node.start_mark.index : node.end_mark.index].encode("utf-8"))
            documents.append(
                _Document(
                    index=len(documents) + 1,
                    node=node,
                    data=data,
                    size=size,
                    paths=paths,
                    duplicates=loader.duplicates[before:],
                )
            )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "parse error"
        raise _YamlProblem(mark.line + 1 if mark else None, problem) from None
    except yaml.YAMLError as exc:
        raise _YamlProblem(None, str(exc).strip().splitlines()[0]) from None
    finally:
        loader.dispose()
    return documents


# --- The rules -------------------------------------------------------------------------


def _type_name(value: Any, *, in_json: bool = False) -> str:
    """What ``value`` is, in the words of JSON (``in_json``) or of YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array" if in_json else "a list"
    if isinstance(value, dict):
        return "an object" if in_json else "a mapping"
    return f"a {type(value).__name__}"


def _json_type(value: Any) -> str:
    return _type_name(value, in_json=True)


def _yaml_type(value: Any) -> str:
    return _type_name(value)


def _quoted(value: Any) -> str:
    """``value`` as the quoted YAML string it was probably meant to be."""
    if value is None:
        return '""'
    text = json.dumps(value) if isinstance(value, bool | int | float) else str(value)
    return json.dumps(text)


class _DuplicateJsonField(ValueError):
    pass


def _no_duplicate_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateJsonField(key)
        result[key] = value
    return result


_TYPE_WORDS = {
    "string_type": "a string",
    "bool_type": "true or false",
    "tuple_type": "a non-empty array of strings",
    "list_type": "a non-empty array of strings",
}


def _entry_messages(exc: ValidationError) -> list[str]:
    """The pydantic errors of one entry, as sentences naming the field."""
    messages: list[str] = []
    for error in exc.errors():
        loc = error["loc"]
        kind = error["type"]
        field_name = str(loc[0]) if loc else ""
        where = field_name + "".join(f"[{part}]" for part in loc[1:])
        given = error.get("input")
        if kind == "missing":
            messages.append(f"missing field {where!r}")
        elif kind == "extra_forbidden":
            messages.append(
                f"unknown field {where!r} (an entry has exactly the eight fields "
                f"{', '.join(RECORD_FIELDS)})"
            )
        elif kind in _TYPE_WORDS:
            messages.append(f"{where!r} must be {_TYPE_WORDS[kind]}, not {_json_type(given)}")
        elif kind in ("too_short", "string_too_short"):
            messages.append(f"{where!r} is empty")
        elif kind == "value_error" and field_name == "name":
            messages.append(f"'name': {_strip_value_error(error['msg'])}")
        elif kind == "value_error" and not loc:
            messages.append(_strip_value_error(error["msg"]))
        else:
            messages.append(f"{where!r}: {error['msg']}" if where else error["msg"])
    return messages


def _strip_value_error(message: str) -> str:
    return message.removeprefix("Value error, ")


class _Checker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.suffix = ""

    def error(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, key, message + self.suffix))

    def warn(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, key, message + self.suffix, warning=True))

    # One ConfigMap document.
    def configmap(self, document: _Document) -> int:
        body: dict[Any, Any] = document.data
        for duplicate in document.duplicates:
            path = document.paths.get(id(duplicate.mapping), "")
            key = str(duplicate.key)
            where = key if path == "data" else (f"{path}.{key}" if path else key)
            self.error(
                where,
                f"duplicate key (lines {duplicate.first_line} and {duplicate.line}): kubectl "
                "refuses the file, and YAML libraries that accept it keep only the last",
            )
        for name in body:
            if name not in CONFIGMAP_FIELDS:
                self.error(
                    str(name),
                    "unknown field (a ConfigMap has only " + ", ".join(CONFIGMAP_FIELDS) + ")",
                )
        if body.get("apiVersion") != "v1":
            self.error("apiVersion", f"is {body.get('apiVersion')!r}, not 'v1'")
        self._metadata(body)
        if "immutable" in body and not isinstance(body["immutable"], bool):
            self.error("immutable", f"must be true or false, not {_yaml_type(body['immutable'])}")
        binary = body.get("binaryData")
        if binary:
            self.error("binaryData", "models go under data as JSON text; binaryData must be empty")
        data = body.get("data")
        if data is None:
            self.error("data", "missing: the models go under data, one key per model")
            return 0
        if not isinstance(data, dict):
            self.error("data", f"must be a mapping of model name to JSON, not {_yaml_type(data)}")
            return 0
        if not data:
            self.error("data", "holds no models")
            return 0
        valid = {}
        for key, value in data.items():
            checked = self._entry(key, value)
            if checked is not None:
                valid[str(key)] = checked
        self._size(document, data)
        self._name_and_immutability(body, valid if len(valid) == len(data) else None)
        return len(data)

    def _metadata(self, body: dict[Any, Any]) -> None:
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            what = (
                "missing" if metadata is None else f"must be a mapping, not {_yaml_type(metadata)}"
            )
            self.error("metadata", what)
            return
        name = metadata.get("name")
        if not isinstance(name, str):
            what = "missing" if name is None else f"must be a string, not {_yaml_type(name)}"
            self.error("metadata.name", what)
        elif (problem := dns_subdomain_problem(name)) is not None:
            self.error("metadata.name", problem)
        namespace = metadata.get("namespace")
        if namespace is not None:
            if not isinstance(namespace, str):
                self.error("metadata.namespace", f"must be a string, not {_yaml_type(namespace)}")
            elif (problem := dns_label_problem(namespace)) is not None:
                self.error("metadata.namespace", problem)
        for section in ("labels", "annotations"):
            values = metadata.get(section)
            if values is None:
                continue
            if not isinstance(values, dict):
                self.error(f"metadata.{section}", f"must be a mapping, not {_yaml_type(values)}")
                continue
            for key, value in values.items():
                if not isinstance(value, str):
                    self.error(
                        f"metadata.{section}.{key}",
                        f"the value is {_yaml_type(value)}, not a string: quote it "
                        f"(e.g. {_quoted(value)})",
                    )
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            version = annotations.get(ANNOTATION_SCHEMA)
            if version is not None and str(version) != SCHEMA_VERSION:
                self.warn(
                    f"metadata.annotations.{ANNOTATION_SCHEMA}",
                    f"schema version {str(version)!r} is not one this nimgen knows "
                    f"({SCHEMA_VERSION!r}); a reader may refuse it",
                )

    def _entry(self, key: Any, value: Any) -> ModelRecord | None:
        if not isinstance(key, str):
            self.error(
                str(key),
                f"the key is read as {_yaml_type(key)}, not a string: quote it",
            )
            return None
        key_problem = configmap_key_problem(key)
        if key_problem is not None:
            self.error(key, key_problem)
        if isinstance(value, dict | list):
            self.error(
                key,
                f"the value is a YAML {'mapping' if isinstance(value, dict) else 'list'}, "
                "not a string: write the model's JSON as a string (e.g. after '|')",
            )
            return None
        if not isinstance(value, str):
            self.error(key, f"the value is {_yaml_type(value)}, not a string of JSON")
            return None
        try:
            raw = json.loads(value, object_pairs_hook=_no_duplicate_fields)
        except _DuplicateJsonField as exc:
            self.error(key, f"the JSON gives the field {exc.args[0]!r} twice")
            return None
        except json.JSONDecodeError as exc:
            self.error(key, f"the value is not valid JSON (its line {exc.lineno}: {exc.msg})")
            return None
        if not isinstance(raw, dict):
            self.error(key, f"the JSON value is {_json_type(raw)}, not an object")
            return None
        name = raw.get("name")
        record: ModelRecord | None = None
        try:
            record = ModelRecord.model_validate_json(value)
        except ValidationError as exc:
            for message in _entry_messages(exc):
                if key_problem is not None and name == key and message.startswith("'name':"):
                    continue  # the same fault as the key's, said once
                self.error(key, message)
        if isinstance(name, str) and name != key:
            self.error(key, f"the key differs from the value's name {name!r}")
            return None
        return None if key_problem is not None else record

    def _size(self, document: _Document, data: dict[Any, Any]) -> None:
        data_bytes = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in data.items())
        size = max(document.size, data_bytes)
        if size >= MAX_OBJECT_BYTES:
            self.error(
                "size",
                f"{size:,} bytes, not under the {MAX_OBJECT_BYTES:,} bytes (1 MiB) etcd accepts",
            )

    def _name_and_immutability(
        self, body: dict[Any, Any], records: dict[str, ModelRecord] | None
    ) -> None:
        metadata = body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if body.get("immutable") is not True or not isinstance(name, str):
            return
        versioned = _VERSIONED_NAME.fullmatch(name)
        if versioned is None:
            self.warn(
                "immutable",
                f"an immutable ConfigMap under the fixed name {name!r} can never change: "
                "every later edit must delete and re-create it (drop immutable, or name it "
                "after its content as nimgen does)",
            )
            return
        if records is None:
            return
        from nimgen.render.configmap import configmap_data

        digest = content_digest(configmap_data(r.canonical() for r in records.values()))
        if digest[:SUFFIX_DIGITS] != versioned["suffix"]:
            self.warn(
                "metadata.name",
                f"the suffix {versioned['suffix']!r} is not the content digest "
                f"{digest[:SUFFIX_DIGITS]!r}: was the data edited by hand?",
            )


def validate_text(text: str, file: str = "<stdin>") -> FileResult:
    """Check every ConfigMap in a YAML (or JSON) text of one or more documents."""
    checker = _Checker(file)
    try:
        documents = _load_documents(text)
    except _YamlProblem as exc:
        where = f"line {exc.line}" if exc.line is not None else "yaml"
        checker.error(where, f"not valid YAML: {exc.message}")
        return FileResult(file, tuple(checker.problems))
    documents = [d for d in documents if d.data is not None]
    configmaps = [
        d for d in documents if isinstance(d.data, dict) and d.data.get("kind") == "ConfigMap"
    ]
    if not configmaps:
        if not documents:
            checker.error("kind", "the file is empty: no ConfigMap in it")
        for document in documents:
            checker.suffix = f" (document {document.index})" if len(documents) > 1 else ""
            if not isinstance(document.data, dict):
                checker.error(
                    "kind", f"the document is {_yaml_type(document.data)}, not a ConfigMap"
                )
            elif "kind" not in document.data:
                checker.error("kind", "missing: expected kind: ConfigMap")
            else:
                checker.error("kind", f"is {document.data['kind']!r}, not 'ConfigMap'")
        return FileResult(file, tuple(checker.problems))
    models = 0
    for document in configmaps:
        checker.suffix = ""
        if len(configmaps) > 1:
            metadata = document.data.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            label = f"ConfigMap {name}" if isinstance(name, str) else "ConfigMap"
            checker.suffix = f" ({label}, document {document.index})"
        models += checker.configmap(document)
    return FileResult(file, tuple(checker.problems), configmaps=len(configmaps), models=models)


def validate_file(path: str) -> FileResult:
    """Check one file (``-`` reads standard input)."""
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            target = Path(path)
            if target.is_dir():
                return FileResult(path, unreadable="is a directory, not a file")
            raw = target.read_bytes()
    except OSError as exc:
        return FileResult(path, unreadable=f"cannot read it: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FileResult(path, unreadable=f"not UTF-8 text (byte {exc.start})")
    return validate_text(text.removeprefix("\ufeff"), "<stdin>" if path == "-" else path)
