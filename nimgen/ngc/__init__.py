"""The live NGC source: key validation, the catalog's pages and per-model details.

* ``policy``:  where the key may go (API URL, proxy) and whom TLS trusts;
* ``client``:  the requests (httpx), their retries (tenacity) and the checks every answer
               passes (size, compression, redirects, an echoed key); ``echo`` finds the key;
* ``parse``:   answers turned into records and digests (``answers``: their pydantic shapes);
* ``collect``: one run (key check, pages, counts, deadline) and ``jobs``, its per-model
               calls, over ``state``: what the run is asked for and what it holds.
"""

from nimgen.ngc.client import (
    Answer,
    ClientSettings,
    NgcClient,
    PermanentError,
    RequestFailed,
    RetryableError,
    Throttle,
)
from nimgen.ngc.collect import MAX_CATALOG_PAGES, collect_catalog
from nimgen.ngc.parse import (
    ParsedPage,
    digests_from_answer,
    facts_of,
    parse_catalog_page,
    record_from_answer,
    unchanged_since,
)
from nimgen.ngc.policy import DEFAULT_API_URL, check_api_url, check_proxy_url, tls_context
from nimgen.ngc.state import Scope

__all__ = [
    "DEFAULT_API_URL",
    "MAX_CATALOG_PAGES",
    "Answer",
    "ClientSettings",
    "NgcClient",
    "ParsedPage",
    "PermanentError",
    "RequestFailed",
    "RetryableError",
    "Scope",
    "Throttle",
    "check_api_url",
    "check_proxy_url",
    "collect_catalog",
    "digests_from_answer",
    "facts_of",
    "parse_catalog_page",
    "record_from_answer",
    "tls_context",
    "unchanged_since",
]
