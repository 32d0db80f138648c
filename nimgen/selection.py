"""Which models a run covers: ``--models``, ``--exclude`` and ``--models-file``."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

from nimgen.errors import BadInput


@dataclass(frozen=True)
class Selection:
    """Glob patterns on model names; an empty include list means every model."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def matches(self, name: str) -> bool:
        if self.include and not any(fnmatch.fnmatchcase(name, p) for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(name, p) for p in self.exclude)

    @property
    def is_everything(self) -> bool:
        return not self.include and not self.exclude


def read_models_file(path: Path) -> tuple[str, ...]:
    """Model names from a file: one per line (``#`` comments), a JSON list, or the
    old Account model-list ConfigMap whose ``data.models`` is a JSON list of names."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise BadInput(f"cannot read the models file {path}: {reason}") from None
    stripped = text.strip()
    if stripped.startswith("["):
        return _names_from_json(stripped, path)
    if "kind:" in text or "data:" in text:
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise BadInput(f"{path}: not valid YAML: {_first_line(exc)}") from None
        models = doc.get("data", {}).get("models") if isinstance(doc, dict) else None
        if not isinstance(models, str):
            raise BadInput(f"{path}: a ConfigMap models file needs data.models (a JSON list)")
        return _names_from_json(models, path)
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return tuple(names)


def _names_from_json(text: str, path: Path) -> tuple[str, ...]:
    try:
        names = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: the model list is not valid JSON: {exc.msg}") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadInput(f"{path}: the model list must be a JSON list of names")
    return tuple(names)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def build_selection(
    models: list[str] | None, exclude: list[str] | None, models_file: Path | None
) -> Selection:
    include = tuple(models or ())
    if models_file is not None:
        include += read_models_file(models_file)
    return Selection(include=include, exclude=tuple(exclude or ()))
