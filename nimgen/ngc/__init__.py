"""The live NGC source: key validation, the catalog's pages and per-model details.

``settings`` and ``policy`` (where the key may go, whom TLS trusts); ``client`` (httpx,
tenacity, the checks every answer passes; ``echo`` finds the key); ``parse`` (answers into
values); ``collect`` (one run: key check, pages, counts, deadline) with ``jobs`` (its
scope, state and per-model calls).
"""
