"""Rebuild nimgen/data/sample-snapshot.json from the 186-model fixture.

Usage: python -m tools.make_sample [tests/fixtures/ngc/models-2025.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nimgen.catalog import CatalogFacts, EuStatus, ModelRecord, SnapshotModel
from nimgen.snapshot import SAMPLE_DATE, sample_path, snapshot_json


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/ngc/models-2025.json")
    models = []
    for raw in json.loads(source.read_text(encoding="utf-8")):
        record = ModelRecord.model_validate(raw).canonical()
        facts = CatalogFacts(
            resourceId=f"{record.namespace}/{record.name}",
            dateModified=record.updatedDate,
            latestTag=record.latestTag,
            latestTagPushedDate=record.updatedDate,
        )
        eu = EuStatus(status="restricted" if record.euRestricted else "available")
        models.append(SnapshotModel(record=record, catalog=facts, eu=eu))
    sample_path().write_bytes(
        snapshot_json(
            tuple(models),
            api_url="https://api.ngc.nvidia.com",
            fetched_at=f"{SAMPLE_DATE}T00:00:00Z",
            eu_facts=f"sample {SAMPLE_DATE}",
        )
    )


if __name__ == "__main__":
    main()
