"""Models and probe files for the EU unit tests."""

from __future__ import annotations

from pathlib import Path

from nimgen.catalog import CatalogFacts, EuStatus, ModelRecord, SnapshotModel
from nimgen.eu import probe_file as probefile
from nimgen.eu.rule import EuOutcome


def model(name: str, rid: str | None = None, eu_status: EuStatus | None = None) -> SnapshotModel:
    record = ModelRecord(
        name=name,
        displayName=name,
        shortDescription="",
        namespace="nim/meta",
        tags=("1.0.0",),
        latestTag="1.0.0",
        updatedDate="2025-01-01T00:00:00Z",
        euRestricted=False,
    )
    return SnapshotModel(
        record=record, catalog=CatalogFacts(resourceId=rid or f"nim/meta/{name}"), eu=eu_status
    )


def probe_file(tmp_path: Path, entries: list[tuple[str, str, str | None]]) -> Path:
    """A probe file with (name, status, detail) entries under nim/meta."""
    probe = probefile.EuProbe(
        probedAt="2026-01-01T00:00:00Z",
        vantage=probefile.ProbeVantage(kind="local", apiUrl="https://api.ngc.nvidia.com"),
        models=tuple(
            probefile.ProbedModel(
                name=name,
                resourceId=f"nim/meta/{name}",
                status=status,  # type: ignore[arg-type]
                detail=detail,
                attempts=1,
            )
            for name, status, detail in entries
        ),
    )
    path = tmp_path / "probe.json"
    path.write_bytes(probefile.probe_json(probe))
    return path


MODELS = (model("a"), model("b"), model("c"))


def flags(outcome: EuOutcome) -> dict[str, bool]:
    return {m.record.name: m.record.euRestricted for m in outcome.models}
