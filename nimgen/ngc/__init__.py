"""The live NGC source: key validation, the catalog's pages and per-model details.

``policy`` (where the key may go, whom TLS trusts), ``client`` (requests through httpx,
retries through tenacity, the checks every answer passes; ``echo`` finds the key),
``parse`` and ``answers`` (answers into records), ``collect`` (one run: key check, pages,
counts, deadline) with ``jobs`` (its per-model calls) over ``state``.
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
from nimgen.ngc.parse import digests_from_answer, parse_catalog_page, record_from_answer
from nimgen.ngc.policy import check_api_url, check_proxy_url, tls_context
from nimgen.ngc.state import Scope

__all__ = [
    "MAX_CATALOG_PAGES", "Answer", "ClientSettings", "NgcClient", "PermanentError",
    "RequestFailed", "RetryableError", "Scope", "Throttle", "check_api_url", "check_proxy_url",
    "collect_catalog", "digests_from_answer", "parse_catalog_page", "record_from_answer",
    "tls_context",
]  # fmt: skip
