"""Which models a run covers: ``--models``, ``--exclude`` and ``--models-file``."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nimgen.errors import BadInput, RunFailed


@dataclass(frozen=True)
class Selection:
    """Glob patterns on model names; an empty include list means every model."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def matches(self, name: str) -> bool:
        if self.include and not any(fnmatch.fnmatchcase(name, p) for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(name, p) for p in self.exclude)

    def unmatched(self, names: Iterable[str]) -> tuple[str, ...]:
        """The ``include`` patterns that match none of ``names``."""
        left = dict.fromkeys(self.include)
        for name in names:
            for pattern in [p for p in left if fnmatch.fnmatchcase(name, p)]:
                del left[pattern]
            if not left:
                break
        return tuple(left)


def check_unmatched(unmatched: Iterable[str], where: str, warn: Callable[[str], None]) -> None:
    """A glob matching nothing is most likely a typo and fails the run; an exact name, which a
    catalog may have dropped, is a warning."""
    globs = [p for p in unmatched if any(c in p for c in "*?[")]
    if globs:
        shown = ", ".join(repr(p) for p in globs)
        raise RunFailed(
            f"--models pattern {shown} matches no model in {where}; nothing was written"
        )
    for name in unmatched:
        warn(f"--models/--models-file {name!r}: no such model in {where}")


_LIST_SHAPES = "one name a line, a JSON list of names, or a ConfigMap whose data.models is one"


def read_models_file(path: Path) -> tuple[str, ...]:
    """Model names from a file: one per line (``#`` comments), a JSON list, or the old
    Account ConfigMap whose ``data.models`` is one. Naming none is an error, not "every
    model": such a file most likely lost its content."""
    from nimgen.files import MODELS_FILE_MAX_BYTES, decode_utf8, read_regular_file
    from nimgen.yamlio import load_json, load_yaml_documents

    raw = read_regular_file(path, what="the models file", max_bytes=MODELS_FILE_MAX_BYTES)
    text = decode_utf8(raw, label=str(path))
    stripped = text.strip()
    source = str(path)
    if stripped.startswith(("[", "{")):
        names = _names_from_document(load_json(stripped, source=source), path)
    elif "kind:" in text or "data:" in text:
        documents = load_yaml_documents(text, source=source)
        if len(documents) != 1:
            raise BadInput(f"{path}: holds {len(documents)} YAML documents; {_LIST_SHAPES}")
        names = _names_from_document(documents[0], path)
    else:
        names = tuple(name for line in text.splitlines() if (name := line.split("#", 1)[0].strip()))
    if not names:
        raise BadInput(
            f"{path}: the models file names no model (empty, or only comments); "
            "leave --models-file out to cover every model"
        )
    return names


def _names_from_document(document: Any, path: Path) -> tuple[str, ...]:
    if isinstance(document, list):
        return _names(document, path)
    if isinstance(document, dict) and ("data" in document or document.get("kind") == "ConfigMap"):
        data = document.get("data")
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, str):
            raise BadInput(f"{path}: a ConfigMap models file needs data.models (a JSON list)")
        from nimgen.yamlio import load_json

        return _names(load_json(models, source=f"{path}: data.models"), path)
    what = "a JSON object" if isinstance(document, dict) else "not a list"
    raise BadInput(f"{path}: the models file is {what}; give {_LIST_SHAPES}")


def _names(document: Any, path: Path) -> tuple[str, ...]:
    if not isinstance(document, list) or not all(
        isinstance(n, str) and n.strip() for n in document
    ):
        raise BadInput(f"{path}: the model list must be a JSON list of names (non-empty strings)")
    return tuple(n.strip() for n in document)


def build_selection(
    models: list[str] | None, exclude: list[str] | None, models_file: Path | None
) -> Selection:
    include = tuple(models or ())
    if models_file is not None:
        include += read_models_file(models_file)
    return Selection(include=include, exclude=tuple(exclude or ()))
