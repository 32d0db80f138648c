"""Where the key may go: the API URL, a proxy, and whom TLS trusts."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest

from nimgen.apikey import redact
from nimgen.errors import BadInput
from nimgen.ngc.policy import check_api_url, check_proxy_option, tls_context, tls_for
from nimgen.ngc.settings import ClientSettings


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://api.ngc.nvidia.com", "plain http to a non-loopback host"),
        ("ftp://x", "is not an http(s) URL"),
        ("https://user:pw@host", "must not carry credentials"),
        ("not a url", "is not an http(s) URL"),
        ("http://127.0.0.1:99999", "is not a valid URL (check the port)"),
        ("http://127.0.0.1:abc", "is not a valid URL (check the port)"),
        ("http://127.0.0.1:0", "is not a valid URL (check the port)"),
        ("http://127.0.0.1:1:2", "is not a valid URL (check the port)"),
        ("https://api.ngc.nvidia.com/v2", "has a path, query or fragment"),
        ("https://api.ngc.nvidia.com?x=1", "has a path, query or fragment"),
        ("https://api.ngc.nvidia.com/#top", "has a path, query or fragment"),
        ("https://api.ngc.nvidia.com?", "has a path, query or fragment"),
    ],
)
def test_api_url_refused_in_one_line(url: str, says: str) -> None:
    with pytest.raises(BadInput) as info:
        check_api_url(url)
    assert says in info.value.message and "\n" not in info.value.message


def test_api_url_credentials_are_not_repeated_even_with_a_bad_port() -> None:
    with pytest.raises(BadInput) as info:
        check_api_url("https://user:s3cret-Pw@host:99999")
    assert "s3cret" not in info.value.message


def test_api_url_accepted() -> None:
    assert check_api_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert check_api_url("http://localhost:1") == "http://localhost:1"
    assert check_api_url("http://[::1]:8080") == "http://[::1]:8080"
    assert check_api_url("https://api.ngc.nvidia.com") == "https://api.ngc.nvidia.com"


def test_proxy_urls() -> None:
    """``--proxy``: nimgen.eu.proxy's rules (tests/eu/test_proxy.py), and plain http only to
    a loopback proxy."""
    assert (
        check_proxy_option("https://proxy.example.com:3128").url == "https://proxy.example.com:3128"
    )
    assert check_proxy_option("http://127.0.0.1:3128/").url == "http://127.0.0.1:3128"
    password = "pr0xy-Secret-771"
    proxy = check_proxy_option(f"https://me:{password}@proxy.example.com:3128")
    assert proxy.redacted == "https://***@proxy.example.com:3128"
    assert redact(f"via {password}") == "via ***"  # registered as a secret
    plain = "uses plain http to a non-loopback host"
    for bad, says in [
        ("http://proxy.example.com:3128", f"--proxy 'http://proxy.example.com:3128' {plain}"),
        (
            f"http://me:{password}@proxy.example.com:1",
            f"--proxy 'http://proxy.example.com:1' {plain}",
        ),
        ("socks5://127.0.0.1:1080", "--proxy is not an http:// or https:// proxy URL"),
        ("https://proxy.example.com:99999", "the port is not a number from 1 to 65535"),
    ]:
        with pytest.raises(BadInput) as info:
            check_proxy_option(bad)
        assert says in info.value.message and password not in info.value.message


def test_tls_trusts_ssl_cert_file_like_httpx_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default = tls_context()
    assert default.verify_mode == ssl.CERT_REQUIRED and default.check_hostname
    assert default.cert_store_stats()["x509_ca"] > 100  # certifi's bundle
    one = tmp_path / "one.pem"
    first = Path(certifi.where()).read_text().split("-----END CERTIFICATE-----")[0]
    one.write_text(first + "-----END CERTIFICATE-----\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(one))
    assert tls_context().cert_store_stats()["x509_ca"] == 1
    # --ca-bundle adds to certifi's CAs, whatever the environment says.
    assert tls_context(one).cert_store_stats()["x509_ca"] > 100


def test_the_context_shared_with_the_eu_vantage_trusts_what_an_https_eu_proxy_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    loopback = ClientSettings(api_url="http://127.0.0.1:8080")
    assert tls_for(loopback).cert_store_stats()["x509_ca"] == 0  # no https anywhere
    assert tls_for(loopback, "http://127.0.0.1:3128").cert_store_stats()["x509_ca"] == 0
    assert tls_for(loopback, "https://eu-proxy.example").cert_store_stats()["x509_ca"] > 100


def test_a_ca_bundle_that_is_not_pem_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN NOTHING-----\n")
    with pytest.raises(BadInput, match="not a readable PEM file"):
        tls_context(bad)


@pytest.mark.parametrize("kind", ["fifo", "device", "binary", "empty"])
def test_a_ca_bundle_that_is_no_pem_file_is_refused_without_waiting(
    tmp_path: Path, kind: str
) -> None:
    # A FIFO nobody writes to would block OpenSSL's read forever: nimgen reads the file.
    path = tmp_path / "ca.pem"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe" * 10)
    else:
        path.write_bytes(b"")
    with pytest.raises(BadInput, match="is not a readable PEM file of CA certificates") as info:
        tls_context(path)
    reason = {
        "fifo": "is a named pipe (FIFO)",
        "device": "is a character device",
        "binary": "not ASCII text",
        "empty": "no certificate found",
    }[kind]
    assert reason in info.value.message
