"""What ``validate`` found: one ``Problem`` a line, one ``FileResult`` a file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One finding: ``FILE: key: what is wrong``."""

    file: str
    key: str
    message: str
    warning: bool = False
    # A duplicated key: the file means two things, so it is refused (exit 2) like every
    # other reader refuses it, not merely reported.
    refused: bool = False

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
    """0 every file valid, 1 problems found, 2 some input could not be read or was refused
    (a duplicated key)."""
    results = list(results)
    if any(r.unreadable is not None or any(p.refused for p in r.problems) for r in results):
        return 2
    return 1 if any(r.errors for r in results) else 0
