"""Every word a run tells its user, one module per output (after pip-audit's ``_format``)."""
