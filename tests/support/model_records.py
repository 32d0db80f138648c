"""Valid model records for unit tests: one place that knows the contract's eight fields."""

from __future__ import annotations

from typing import Any

from nimgen.catalog import ModelRecord


def record_fields(name: str = "a", **changes: Any) -> dict[str, Any]:
    """A valid ConfigMap entry named ``name`` as JSON data; ``changes`` override fields."""
    fields: dict[str, Any] = {
        "name": name,
        "displayName": f"Display {name}",
        "shortDescription": "Short.",
        "namespace": "nim/test",
        "tags": ["1.0", "latest"],
        "latestTag": "1.0",
        "updatedDate": "2025-01-01T00:00:00Z",
        "euRestricted": False,
    }
    fields.update(changes)
    return fields


def make_record(name: str = "a", **changes: Any) -> ModelRecord:
    """A valid record named ``name``; ``changes`` override any of the eight fields."""
    return ModelRecord.model_validate(record_fields(name, **changes))
