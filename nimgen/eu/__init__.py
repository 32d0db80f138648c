"""EU restrictions: the probe file and flat list (probe_file), the proxy URL (proxy), the
conservative rule under ``--eu-uncertain`` (rule), and the one EU decision of a run (resolve)."""

# Here, not in resolve: the CLI declares its options without loading pydantic models.
EU_PROXY_ENV = "NIMGEN_EU_PROXY"
DEFAULT_MAX_AGE_DAYS = 30.0
