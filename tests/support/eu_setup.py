"""Proxy credentials shared by the EU tests; tests grep every output for them."""

PROXY_USER = "eu-proxy-user"
PROXY_PASSWORD = "Pr0xy-S3cret-for-the-eu-tests"
