"""``nimgen.commands.fetch``: what ``render --from`` would refuse is refused at ``fetch``."""

from __future__ import annotations

from pathlib import Path

import pytest

from nimgen.catalog import CatalogFacts, SnapshotModel
from nimgen.collection import Collection
from nimgen.commands import live
from nimgen.commands.common import ModelChoice, NgcAccess
from nimgen.commands.fetch import FetchRequest, fetch
from nimgen.commands.live import LiveRequest
from nimgen.errors import RunFailed
from nimgen.eu.resolve import EuRequest
from nimgen.report.console import Console
from tests.support.model_records import make_record


def test_one_name_in_two_teams_is_refused_and_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tuple(
        SnapshotModel(
            record=make_record("twin", namespace=f"nim/{team}"),
            catalog=CatalogFacts(resourceId=f"nim/{team}/twin"),
        )
        for team in ("meta", "nvidia")
    )

    def collected(*_: object) -> Collection:
        return Collection(models=models, discovered=2)

    monkeypatch.setattr(live, "collect_live", collected)
    monkeypatch.setenv("NGC_API_KEY", "nvapi-test-key-0000")
    out = tmp_path / "snap.json"
    request = FetchRequest(LiveRequest(NgcAccess(), ModelChoice(), EuRequest()), output=out)
    with pytest.raises(RunFailed, match="share the name 'twin'") as caught:
        fetch(request, Console(quiet=True))
    assert "nim/meta/twin and nim/nvidia/twin" in caught.value.message
    assert caught.value.collection is not None and caught.value.collection.discovered == 2
    assert not out.exists()
