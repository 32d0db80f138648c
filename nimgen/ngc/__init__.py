"""The live NGC source: key validation, the catalog's pages and per-model details.

``policy`` (where the key may go, whom TLS trusts), ``client`` (requests through httpx,
retries through tenacity, the checks every answer passes; ``echo`` finds the key),
``parse`` (answers into records), ``collect`` (one run: key check, pages, counts,
deadline) with ``jobs`` (its per-model calls) over ``state``.
"""
