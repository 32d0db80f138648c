"""``nimgen.eu.proxy``: a proxy URL is parsed for real, and its credentials never printed."""

from __future__ import annotations

import pytest

from nimgen.apikey import redact
from nimgen.errors import BadInput
from nimgen.eu.proxy import check_proxy_url


def test_proxy_credentials_are_registered_and_redacted() -> None:
    proxy = check_proxy_url("http://eu-user:pa%40ss-w0rd-1@127.0.0.1:3128")
    assert proxy.redacted == "http://***@127.0.0.1:3128"
    assert "pa%40ss" not in repr(proxy)
    line = "via http://eu-user:pa%40ss-w0rd-1@127.0.0.1:3128 pw pa@ss-w0rd-1 / pa%40ss-w0rd-1"
    assert "pa@ss-w0rd-1" not in redact(line) and "pa%40ss-w0rd-1" not in redact(line)
    assert check_proxy_url("https://proxy.example").redacted == "https://proxy.example"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("proxy.example:3128", "not an http:// or https:// proxy URL"),
        ("socks5://u:pw-socks-0@host:1080", "not an http:// or https:// proxy URL"),
        ("http://u:pw-port-0@host:port", "the port is not a number"),
        ("http://u:pw-path-0@host:1/some/path", "no path, query or fragment"),
        ("http://u:pw-host-0@:3128", "names no host"),
    ],
)
def test_bad_proxy_urls_never_echo_the_password(url: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        check_proxy_url(url)
    assert "pw-" not in caught.value.message


@pytest.mark.parametrize(
    "password", ["se#cret-pw-1", "se/cret-pw-2", "se?cret-pw-3", "s#e/c?r@et-4"]
)
def test_a_password_with_url_delimiters_is_parsed_and_encoded(password: str) -> None:
    proxy = check_proxy_url(f"http://eu-user:{password}@proxy.example:3128")
    assert proxy.redacted == "http://***@proxy.example:3128"
    # httpx gets the password percent-encoded, so it reads the same password back
    import httpx

    url = httpx.URL(proxy.url)
    assert (url.host, url.port, url.username, url.password) == (
        "proxy.example",
        3128,
        "eu-user",
        password,
    )
    assert password not in redact(f"proxy {proxy.url} said no to {password}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://eu-user:se#cret-pw@host:port", "the port is not a number"),
        ("http://eu-user:se/cret-pw@:3128", "names no host"),
        ("http://eu-user:se?cret-pw@host:1/path", "no path, query or fragment"),
        ("http://eu-user:se#cret-pw@host:0", "the port is not a number"),
    ],
)
def test_errors_never_show_the_user_or_any_part_of_the_password(url: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        check_proxy_url(url)
    text = caught.value.message
    assert "eu-user" not in text and "se" not in text.split("://", 1)[1].split("@")[0]
    assert "cret" not in text and "***@" in text


def test_a_short_password_is_redacted_as_httpx_is_given_it() -> None:
    """Too short for the piece scrubbing, the percent-encoded form is a secret of its own."""
    proxy = check_proxy_url("http://eu-user:k7 q!@proxy.example:3128")
    assert "eu-user:k7%20q!@" in proxy.url
    assert redact("httpx: proxy refused password k7%20q!") == "httpx: proxy refused password ***"
