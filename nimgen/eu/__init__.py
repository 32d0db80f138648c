"""EU restrictions: the probe file and flat list (probe_file), the proxy URL (proxy), the
conservative rule under ``--eu-uncertain`` (rule), and the one EU decision of a run (resolve)."""
