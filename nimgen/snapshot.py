"""The offline source: models from a ``fetch`` snapshot, a rendered ConfigMap or tree, or
the dated sample snapshot the package ships (so ``render`` needs no key and no network).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nimgen.catalog import (
    SNAPSHOT_KIND,
    CatalogFacts,
    ModelRecord,
    Snapshot,
    SnapshotModel,
    SnapshotSource,
    resource_problem,
)
from nimgen.collection import Collection, ProgressHook
from nimgen.errors import BadInput, RunFailed, validation_reason
from nimgen.files import (
    JSON_MAX_BYTES,
    MIB,
    YAML_MAX_BYTES,
    UnreadableFile,
    decode_utf8,
    read_regular_file,
)
from nimgen.selection import Selection
from nimgen.tree.configmap import ANNOTATION_EU_SOURCE, CONFIGMAP_FILENAME
from nimgen.yamlio import (
    YamlProblem,
    document_values,
    load_json,
    load_yaml_documents,
    parse_documents,
)

SAMPLE_DATE = "2026-02-19"


def sample_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "sample-snapshot.json"


@dataclass(frozen=True)
class Loaded:
    path: Path
    kind: str  # "snapshot" or "configmap"
    models: tuple[SnapshotModel, ...]
    eu_facts: str = "none"
    configmap_name: str | None = None
    # A snapshot's NGC API (a ConfigMap does not say): an EU probe file is checked against it.
    api_url: str | None = None


def load_models(path: Path) -> Loaded:
    """Read a snapshot (JSON), a ConfigMap (YAML) or an output tree (directory)."""
    if path.is_dir():
        for candidate in (f"base/{CONFIGMAP_FILENAME}", CONFIGMAP_FILENAME):
            if (path / candidate).is_file():
                return load_models(path / candidate)
        for yaml_file in sorted(path.glob("*.yaml")):
            loaded = _try_configmap_file(yaml_file)
            if loaded is not None:
                return loaded
        raise BadInput(f"{path}: no nim-models-data ConfigMap found in this directory")
    raw = read_regular_file(path, max_bytes=JSON_MAX_BYTES)
    text = decode_utf8(raw, label=str(path))
    if text.lstrip().startswith("{"):
        return _load_snapshot(path, text)
    if len(raw) > YAML_MAX_BYTES:  # refused before parsing
        reason = (
            f"{len(raw):,} bytes of YAML is over the {YAML_MAX_BYTES // MIB} MiB nimgen reads "
            "(a ConfigMap is at most 1 MiB)"
        )
        raise UnreadableFile(f"cannot read {path}: {reason}", reason)
    return configmap_models(path, load_yaml_documents(text, source=str(path)))


def _load_snapshot(path: Path, text: str) -> Loaded:
    document = load_json(text, source=str(path))
    if not isinstance(document, dict) or document.get("kind") != SNAPSHOT_KIND:
        raise BadInput(f"{path}: not a nimgen snapshot (kind {SNAPSHOT_KIND!r} missing)")
    try:
        snapshot = Snapshot.model_validate(document)
    except ValidationError as exc:
        raise BadInput(f"{path}: invalid snapshot: {_where(document, exc)}") from None
    seen: set[str] = set()
    for model in snapshot.models:
        name = model.record.name
        if name in seen:
            raise BadInput(f"{path}: the model {name!r} appears twice")
        seen.add(name)
        problem = resource_problem(model.catalog.resourceId, model.record)
        if problem is not None:
            raise BadInput(f"{path}: invalid snapshot: model {name!r}: {problem}")
    source = snapshot.source
    return Loaded(path, "snapshot", snapshot.models, eu_facts=source.euFacts, api_url=source.apiUrl)


def _where(document: dict[str, Any], exc: ValidationError) -> str:
    """The first problem, led by the name of the model it is in (when it has one)."""
    loc = exc.errors()[0]["loc"]
    try:
        name = document["models"][loc[1]]["record"]["name"] if loc[0] == "models" else None
    except (IndexError, KeyError, TypeError):
        name = None
    return (f"model {name!r}: " if isinstance(name, str) else "") + validation_reason(exc)


def _is_models_configmap(document: Any) -> bool:
    return isinstance(document, dict) and document.get("kind") == "ConfigMap"


def _try_configmap_file(path: Path) -> Loaded | None:
    """The models of ``path`` when it holds a ConfigMap; None for another tool's file. YAML
    refused (a duplicate key, an alias, its size) is an error, never skipped."""
    try:
        text = decode_utf8(read_regular_file(path, max_bytes=YAML_MAX_BYTES), label=str(path))
        parsed = parse_documents(text)
    except BadInput:
        return None
    except YamlProblem as exc:
        if exc.refused:
            raise BadInput(f"{path}: {exc}") from None
        return None
    if not any(_is_models_configmap(d.data) for d in parsed):
        return None
    return configmap_models(path, document_values(parsed, source=str(path)))


def configmap_models(path: Path, documents: list[Any]) -> Loaded:
    """The models of the one ConfigMap among ``documents`` (parsed YAML or a cluster's
    object); ``path`` names it in every error."""
    documents = [d for d in documents if _is_models_configmap(d)]
    if not documents:
        raise BadInput(f"{path}: neither a nimgen snapshot nor a YAML ConfigMap")
    if len(documents) > 1:
        raise BadInput(f"{path}: holds {len(documents)} ConfigMaps; give a file with one")
    document = documents[0]
    data = document.get("data") or {}
    if not isinstance(data, dict):
        raise BadInput(f"{path}: data is not a mapping")
    models = []
    for key, value in data.items():
        if not isinstance(value, str):
            raise BadInput(f"{path}: {key}: the value is not a string of JSON")
        try:
            record = ModelRecord.model_validate(load_json(value, source=f"{path}: {key}"))
        except ValidationError as exc:
            raise BadInput(f"{path}: {key}: {validation_reason(exc)}") from None
        if record.name != key:
            raise BadInput(f"{path}: {key}: the key differs from the value's name {record.name!r}")
        facts = CatalogFacts(resourceId=f"{record.namespace}/{record.name}")
        models.append(SnapshotModel(record=record.canonical(), catalog=facts))
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    annotations = metadata.get("annotations")
    annotations = annotations if isinstance(annotations, dict) else {}
    name = metadata.get("name")
    return Loaded(
        path,
        "configmap",
        tuple(sorted(models, key=lambda m: m.record.name)),
        eu_facts=str(annotations.get(ANNOTATION_EU_SOURCE, "none")),
        configmap_name=name if isinstance(name, str) else None,
    )


class SnapshotFileSource:
    def __init__(self, path: Path) -> None:
        self.path = path
        # What the last collect() read (its kind and EU facts), for the caller.
        self.loaded: Loaded | None = None

    def collect(self, selection: Selection, progress: ProgressHook) -> Collection:
        loaded = load_models(self.path)
        self.loaded = loaded
        chosen = tuple(
            m.replace(record=m.record.canonical())
            for m in loaded.models
            if selection.matches(m.record.name)
        )
        return Collection(
            models=chosen,
            discovered=len(loaded.models),
            skipped_by_selection=len(loaded.models) - len(chosen),
            unmatched=selection.unmatched(m.record.name for m in loaded.models),
        )


def snapshot_json(
    models: tuple[SnapshotModel, ...], *, api_url: str, fetched_at: str, eu_facts: str = "none"
) -> bytes:
    """The snapshot document; ``RunFailed`` when it is larger than ``load_models`` reads."""
    snapshot = Snapshot(
        source=SnapshotSource(apiUrl=api_url, fetchedAt=fetched_at, euFacts=eu_facts),
        models=tuple(sorted(models, key=lambda m: m.record.name)),
    )
    data = snapshot.json_text().encode("ascii")
    if len(data) > JSON_MAX_BYTES:
        raise RunFailed(
            f"the snapshot of {len(models):,} models would be {len(data):,} bytes, over the "
            f"{JSON_MAX_BYTES // MIB} MiB nimgen reads back: fetch fewer models (--models, "
            "--exclude); nothing was written"
        )
    return data
