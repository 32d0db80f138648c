"""The live NGC source: catalog discovery, key validation and per-model details.

* ``policy``:    where the key may go (API URL, proxy) and whom TLS trusts;
* ``settings``:  the client's settings (``ClientSettings``);
* ``transport``: connections (one per request in flight): ``direct`` (h11 on asyncio)
                 or through a proxy (httpcore);
* ``body``:      reading an answer without trusting it (size, compression, nesting, echoes);
* ``http``:      the retrying client (limiter, retries, answer checks);
* ``api``:       the three NGC endpoints;
* ``parse``:     answers turned into records and digests;
* ``collect``:   one run (key check, pages, deadline) and ``jobs``, its per-model calls,
                 over ``state``, the run's options and state;
* ``source``:    ``NgcSource``, the ``ModelSource`` over all of it.
"""

from nimgen.ngc.api import CATALOG_ORG, NgcClient
from nimgen.ngc.collect import MAX_CATALOG_PAGES, CollectResult, collect_catalog
from nimgen.ngc.http import (
    Answer,
    Final,
    RequestFailed,
    RetryingClient,
    Transient,
    parse_retry_after,
)
from nimgen.ngc.parse import (
    ParsedPage,
    digests_from_answer,
    facts_of,
    parse_catalog_page,
    record_from_answer,
    unchanged_since,
)
from nimgen.ngc.policy import (
    DEFAULT_API_URL,
    check_api_url,
    check_proxy_url,
    is_loopback_host,
    tls_context,
)
from nimgen.ngc.settings import MAX_RESPONSE_BYTES, MAX_RETRY_AFTER, ClientSettings
from nimgen.ngc.source import NgcSource
from nimgen.ngc.state import CollectOptions

__all__ = [
    "CATALOG_ORG",
    "DEFAULT_API_URL",
    "MAX_CATALOG_PAGES",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRY_AFTER",
    "Answer",
    "ClientSettings",
    "CollectOptions",
    "CollectResult",
    "Final",
    "NgcClient",
    "NgcSource",
    "ParsedPage",
    "RequestFailed",
    "RetryingClient",
    "Transient",
    "check_api_url",
    "check_proxy_url",
    "collect_catalog",
    "digests_from_answer",
    "facts_of",
    "is_loopback_host",
    "parse_catalog_page",
    "parse_retry_after",
    "record_from_answer",
    "tls_context",
    "unchanged_since",
]
