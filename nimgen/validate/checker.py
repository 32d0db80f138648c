"""The checks of ``nimgen validate``, one ConfigMap document at a time."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nimgen.catalog import SCHEMA_VERSION, ModelRecord
from nimgen.files import YAML_MAX_BYTES, UnreadableFile, decode_utf8, read_regular_file, read_stdin
from nimgen.names import configmap_key_problem, dns_label_problem, dns_subdomain_problem
from nimgen.report.validate import entry_messages, json_type, quoted, yaml_type
from nimgen.tree.configmap import (
    ANNOTATION_REVISION,
    ANNOTATION_SCHEMA,
    MAX_OBJECT_BYTES,
    SUFFIX_DIGITS,
    configmap_data,
    content_digest,
)
from nimgen.tree.revision import revision_problem
from nimgen.validate.results import FileResult, Problem
from nimgen.yamlio import (
    DuplicateJsonKey,
    ParsedDocument,
    YamlProblem,
    mapping_paths,
    parse_documents,
    refuse_duplicate_keys,
)

CONFIGMAP_FIELDS = ("apiVersion", "kind", "metadata", "data", "binaryData", "immutable")

_VERSIONED_NAME = re.compile(rf".+-(?P<suffix>[0-9a-f]{{{SUFFIX_DIGITS}}})")


class _Refused(Exception):
    """A limit hit while checking (an entry's JSON nested too deeply): the file is
    refused as unreadable, like one over the size cap."""


class _Checker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.suffix = ""

    def error(self, key: str, message: str, *, warning: bool = False) -> None:
        self.problems.append(Problem(self.file, key, message + self.suffix, warning=warning))

    def configmap(self, document: ParsedDocument) -> int:
        """Check one ConfigMap document; the number of models in it."""
        body: dict[Any, Any] = document.data
        paths = mapping_paths(document.node) if document.duplicates else {}
        for duplicate in document.duplicates:
            path, key = paths.get(id(duplicate.mapping), ""), str(duplicate.key)
            message = (
                f"duplicate key (lines {duplicate.first_line} and {duplicate.line}): kubectl "
                "refuses the file, and YAML libraries that accept it keep only the last"
            )
            where = f"{path}.{key}" if path not in ("", "data") else key
            self.problems.append(Problem(self.file, where, message + self.suffix, refused=True))
        for name in body:
            if name not in CONFIGMAP_FIELDS:
                fields = ", ".join(CONFIGMAP_FIELDS)
                self.error(str(name), f"unknown field (a ConfigMap has only {fields})")
        if body.get("apiVersion") != "v1":
            self.error("apiVersion", f"is {body.get('apiVersion')!r}, not 'v1'")
        self._metadata(body)
        if "immutable" in body and not isinstance(body["immutable"], bool):
            self.error("immutable", f"must be true or false, not {yaml_type(body['immutable'])}")
        if body.get("binaryData"):
            self.error("binaryData", "models go under data as JSON text; binaryData must be empty")
        data = body.get("data")
        if data is None:
            self.error("data", "missing: the models go under data, one key per model")
        elif not isinstance(data, dict):
            self.error("data", f"must be a mapping of model name to JSON, not {yaml_type(data)}")
        elif not data:
            self.error("data", "holds no models")
        if not isinstance(data, dict) or not data:
            return 0
        records = [record for key, value in data.items() if (record := self._entry(key, value))]
        data_bytes = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in data.items())
        if (size := max(document.size, data_bytes)) >= MAX_OBJECT_BYTES:
            self.error(
                "size",
                f"{size:,} bytes, not under the {MAX_OBJECT_BYTES:,} bytes (1 MiB) etcd accepts",
            )
        self._name_and_immutability(body, records if len(records) == len(data) else None)
        return len(data)

    def _metadata(self, body: dict[Any, Any]) -> None:
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            what = (
                "missing" if metadata is None else f"must be a mapping, not {yaml_type(metadata)}"
            )
            self.error("metadata", what)
            return
        name, namespace = metadata.get("name"), metadata.get("namespace")
        if not isinstance(name, str):
            what = "missing" if name is None else f"must be a string, not {yaml_type(name)}"
            self.error("metadata.name", what)
        elif (problem := dns_subdomain_problem(name)) is not None:
            self.error("metadata.name", problem)
        if namespace is not None and not isinstance(namespace, str):
            self.error("metadata.namespace", f"must be a string, not {yaml_type(namespace)}")
        elif namespace is not None and (problem := dns_label_problem(namespace)) is not None:
            self.error("metadata.namespace", problem)
        for section in ("labels", "annotations"):
            values = metadata.get(section)
            if values is not None and not isinstance(values, dict):
                self.error(f"metadata.{section}", f"must be a mapping, not {yaml_type(values)}")
            for key, value in values.items() if isinstance(values, dict) else ():
                if not isinstance(value, str):
                    self.error(
                        f"metadata.{section}.{key}",
                        f"the value is {yaml_type(value)}, not a string: quote it "
                        f"(e.g. {quoted(value)})",
                    )
        annotations = metadata.get("annotations")
        if not isinstance(annotations, dict):
            return
        version = annotations.get(ANNOTATION_SCHEMA)
        if version is not None and str(version) != SCHEMA_VERSION:
            self.error(
                f"metadata.annotations.{ANNOTATION_SCHEMA}",
                f"schema version {str(version)!r} is not one this nimgen knows "
                f"({SCHEMA_VERSION!r}); a reader may refuse it",
                warning=True,
            )
        revision = annotations.get(ANNOTATION_REVISION)
        if isinstance(revision, str) and (problem := revision_problem(revision)):
            self.error(f"metadata.annotations.{ANNOTATION_REVISION}", problem)

    def _entry(self, key: Any, value: Any) -> ModelRecord | None:
        """The record under ``key``, or None (its problems reported)."""
        if not isinstance(key, str):
            self.error(str(key), f"the key is read as {yaml_type(key)}, not a string: quote it")
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
            self.error(key, f"the value is {yaml_type(value)}, not a string of JSON")
            return None
        try:
            raw = json.loads(value, object_pairs_hook=refuse_duplicate_keys)
        except DuplicateJsonKey as exc:
            self.error(key, f"the JSON gives the field {exc.args[0]!r} twice")
            return None
        except json.JSONDecodeError as exc:
            self.error(key, f"the value is not valid JSON (its line {exc.lineno}: {exc.msg})")
            return None
        except RecursionError:
            raise _Refused(f"{key}: refused: its JSON is nested too deeply") from None
        if not isinstance(raw, dict):
            self.error(key, f"the JSON value is {json_type(raw)}, not an object")
            return None
        name = raw.get("name")
        record: ModelRecord | None = None
        try:
            record = ModelRecord.model_validate(raw)
        except ValidationError as exc:
            for message in entry_messages(exc):
                if key_problem is not None and name == key and message.startswith("'name':"):
                    continue  # the same fault as the key's, said once
                self.error(key, message)
        if isinstance(name, str) and name != key:
            self.error(key, f"the key differs from the value's name {name!r}")
            return None
        return None if key_problem is not None else record

    def _name_and_immutability(
        self, body: dict[Any, Any], records: list[ModelRecord] | None
    ) -> None:
        metadata = body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if body.get("immutable") is not True or not isinstance(name, str):
            return
        versioned = _VERSIONED_NAME.fullmatch(name)
        if versioned is None:
            self.error(
                "immutable",
                f"an immutable ConfigMap under the fixed name {name!r} can never change: "
                "every later edit must delete and re-create it (drop immutable, or name it "
                "after its content as nimgen does)",
                warning=True,
            )
        elif records is not None:
            digest = content_digest(configmap_data(r.canonical() for r in records))
            if digest[:SUFFIX_DIGITS] != versioned["suffix"]:
                self.error(
                    "metadata.name",
                    f"the suffix {versioned['suffix']!r} is not the content digest "
                    f"{digest[:SUFFIX_DIGITS]!r}: was the data edited by hand?",
                    warning=True,
                )


def validate_text(text: str, file: str = "<stdin>") -> FileResult:
    """Check every ConfigMap in a YAML (or JSON) text: YAML refused by ``nimgen.yamlio``'s
    limits makes the file ``unreadable`` (exit 2); every other fault is a finding."""
    checker = _Checker(file)
    try:
        documents = [d for d in parse_documents(text) if d.data is not None]
    except YamlProblem as exc:
        if exc.refused:
            return FileResult(file, unreadable=str(exc))
        where = f"line {exc.line}" if exc.line is not None else "yaml"
        checker.error(where, f"not valid YAML: {exc.message}")
        return FileResult(file, tuple(checker.problems))
    configmaps = [
        d for d in documents if isinstance(d.data, dict) and d.data.get("kind") == "ConfigMap"
    ]
    if not documents:
        checker.error("kind", "the file is empty: no ConfigMap in it")
    for document in documents if not configmaps else ():
        checker.suffix = f" (document {document.index})" if len(documents) > 1 else ""
        if not isinstance(document.data, dict):
            checker.error("kind", f"the document is {yaml_type(document.data)}, not a ConfigMap")
        elif "kind" not in document.data:
            checker.error("kind", "missing: expected kind: ConfigMap")
        else:
            checker.error("kind", f"is {document.data['kind']!r}, not 'ConfigMap'")
    models = 0
    try:
        for document in configmaps:
            metadata = document.data.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            label = f"ConfigMap {name}" if isinstance(name, str) else "ConfigMap"
            checker.suffix = f" ({label}, document {document.index})" if len(configmaps) > 1 else ""
            models += checker.configmap(document)
    except _Refused as exc:
        return FileResult(file, unreadable=str(exc))
    return FileResult(file, tuple(checker.problems), configmaps=len(configmaps), models=models)


def validate_file(path: str) -> FileResult:
    """Check one file (``-``: standard input), read through ``nimgen.files``."""
    label = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = read_stdin(max_bytes=YAML_MAX_BYTES)
        else:
            raw = read_regular_file(Path(path), max_bytes=YAML_MAX_BYTES)
        text = decode_utf8(raw, label=label)
    except UnreadableFile as exc:
        reason = f"cannot read it: {exc.reason}" if exc.os_error else exc.reason
        return FileResult(label, unreadable=reason)
    return validate_text(text, label)
