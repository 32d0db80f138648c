"""The three NGC endpoints nimgen calls (nim-contract.md, section 1)."""

from __future__ import annotations

import json
from urllib.parse import quote

from nimgen.collection import CatalogEntry
from nimgen.errors import BadInput, KeyRejected, RunFailed
from nimgen.ngc.http import Answer, RequestFailed, RetryingClient

CATALOG_ORG = "nim"


class NgcClient(RetryingClient):
    """Key validation, catalog pages and per-model details, each retried."""

    async def __aenter__(self) -> NgcClient:
        await super().__aenter__()
        return self

    async def validate_key(self) -> None:
        """Raise ``KeyRejected`` unless NGC accepts the key."""
        if self._key is None:
            raise BadInput("no NGC API key given")
        try:
            await self.request(
                "POST",
                "/v3/keys/get-caller-info",
                authorized=True,
                form={"credentials": self._key.reveal()},
                body_is_used=False,
            )
        except RequestFailed as exc:
            if exc.status == 407:  # a proxy's answer, not NGC's: the key was never checked
                raise RunFailed(
                    f"the proxy refused the request ({exc.reason}); check its credentials"
                ) from None
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                raise KeyRejected(
                    f"NGC rejected the API key ({exc.reason}); check that it is a valid, "
                    "unexpired personal key"
                ) from None
            raise RunFailed(f"could not validate the API key: {exc.reason}") from None

    async def catalog_page(self, page: int) -> Answer:
        query = json.dumps(
            {"query": f"orgName:{CATALOG_ORG}", "page": page, "pageSize": self.settings.page_size},
            separators=(",", ":"),
        )
        return await self.request("GET", f"/v2/search/catalog/resources/CONTAINER?q={quote(query)}")

    def model_url(self, entry: CatalogEntry) -> str:
        return f"{self.settings.api_url}{self.model_path(entry)}"

    def model_path(self, entry: CatalogEntry) -> str:
        org = quote(entry.org, safe="")
        name = quote(entry.name, safe="")
        if entry.team:
            team = quote(entry.team, safe="")
            path = f"/v2/org/{org}/team/{team}/repos/{name}"
        else:
            path = f"/v2/org/{org}/repos/{name}"
        return f"{path}?resolve-labels=true"

    async def model_details(self, entry: CatalogEntry, *, eu_probe: bool = False) -> Answer:
        finals = frozenset({451}) if eu_probe else frozenset()
        return await self.request(
            "GET", self.model_path(entry), authorized=True, final_statuses=finals
        )
