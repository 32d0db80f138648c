"""``fetch``: the live catalog into a versioned JSON snapshot (for render, airgap, diff)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nimgen.commands.common import RunLog
from nimgen.commands.live import LiveRequest, fetch_models, prepare, reporting
from nimgen.commands.results import FetchResult
from nimgen.commands.tree import check_not_empty, check_unique_names
from nimgen.snapshot import snapshot_json
from nimgen.tree.write import check_output_file, write_file


@dataclass(frozen=True)
class FetchRequest:
    live: LiveRequest
    output: Path
    allow_empty: bool = False


def fetch(request: FetchRequest, log: RunLog) -> FetchResult:
    """No EU source is needed: a snapshot without EU facts gets them when rendered."""
    prepared = prepare(request.live, log, eu_required=False)
    check_output_file(request.output)  # a directory or an unwritable place: exit 2 first
    fetched = fetch_models(prepared, log)
    models = fetched.collection.models
    with reporting(fetched.collection):
        check_not_empty(models, request.allow_empty, "the snapshot")
        # render --from refuses such a snapshot, so it is refused here, like generate does.
        check_unique_names(models)
        write_file(
            request.output,
            snapshot_json(
                models,
                api_url=prepared.settings.api_url,
                fetched_at=fetched.collection.fetched_at,
                eu_facts=fetched.eu.source,
            ),
            result=True,
        )
    return FetchResult(
        collection=fetched.collection, eu=fetched.eu, output=request.output, reuse=fetched.reuse
    )
