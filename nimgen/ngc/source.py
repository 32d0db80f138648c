"""``NgcSource``: the live NGC catalog as a ``ModelSource``, like the offline file source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nimgen import aiorun
from nimgen.apikey import ApiKey
from nimgen.collection import Collection, Logger, ProgressHook
from nimgen.ngc.api import NgcClient
from nimgen.ngc.collect import collect_catalog
from nimgen.ngc.limiter import AdaptiveLimiter
from nimgen.ngc.settings import ClientSettings
from nimgen.ngc.state import CollectOptions
from nimgen.selection import Selection

if TYPE_CHECKING:
    from nimgen.catalog import SnapshotModel


@dataclass(frozen=True)
class NgcSource:
    """Validate the key, discover the catalog, fetch the selected models' details.

    One client and one adaptive limiter for the run; ``previous`` records are reused
    when the catalog says they are unchanged.
    """

    key: ApiKey
    settings: ClientSettings
    previous: Mapping[str, SnapshotModel] | None = None
    log: Logger | None = None

    def collect(self, selection: Selection, progress: ProgressHook) -> Collection:
        return aiorun.run(self.collect_async(selection, progress))

    async def collect_async(self, selection: Selection, progress: ProgressHook) -> Collection:
        limiter = AdaptiveLimiter(self.settings.concurrency)
        async with NgcClient(self.settings, self.key, limiter=limiter, log=self.log) as client:
            options = CollectOptions(selection=selection, previous=self.previous)
            result = await collect_catalog(client, options, progress)
        return result.collection
