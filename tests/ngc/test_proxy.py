"""Proxies: one from the environment is never used; one given in the settings always is."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from nimgen.collection import CatalogEntry
from nimgen.ngc import Answer, NgcClient, RequestFailed
from tests.ngc.conftest import fast_settings, with_client
from tests.support.fault_kit import TlsFront, make_test_ca
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import NgcEmulator

ENV_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def _a_model(emu: NgcEmulator) -> CatalogEntry:
    m = emu.models[0]
    return CatalogEntry(m.resource_id, m.org, m.team, m.name, m.name, None, "1", None)


def _details(emu: NgcEmulator, proxy: str | None = None) -> Answer:
    entry = _a_model(emu)

    async def use(client: NgcClient) -> Answer:
        await client.validate_key()
        return await client.model_details(entry)

    return with_client(fast_settings(emu.url, proxy=proxy), use)


def test_proxies_in_the_environment_are_ignored(
    ngc_emulator: NgcEmulator, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENV_PROXIES:
        monkeypatch.setenv(name, forward_proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _details(ngc_emulator).status == 200
    # The key went straight to the API: the proxy saw nothing, the emulator a direct caller.
    assert forward_proxy.requests == 0 and forward_proxy.connects == 0
    assert {r.client_address for r in ngc_emulator.requests} == {"127.0.0.1"}


def test_the_proxy_in_the_settings_is_used(
    ngc_emulator: NgcEmulator, forward_proxy: ForwardProxy
) -> None:
    assert _details(ngc_emulator, proxy=forward_proxy.url).status == 200
    assert forward_proxy.requests == 2  # the key check and the model, both through it
    # The proxy dials upstream from 127.0.0.2: every request came through it.
    assert {r.client_address for r in ngc_emulator.requests} == {"127.0.0.2"}


def test_a_proxy_with_credentials_is_authenticated(ngc_emulator: NgcEmulator) -> None:
    password = "pa:ss/w0rd"  # percent-encoded in the URL, as the CLI passes it
    with ForwardProxy(username="user", password=password) as proxy:
        url = f"http://user:{quote(password, safe='')}@127.0.0.1:{proxy.port}"
        assert _details(ngc_emulator, proxy=url).status == 200
        assert proxy.requests == 2 and proxy.auth_failures == 0


def test_an_https_proxy_is_verified_with_the_ca_bundle(
    ngc_emulator: NgcEmulator, forward_proxy: ForwardProxy, tmp_path: Path
) -> None:
    """TLS to the proxy trusts what the API's TLS trusts: --ca-bundle covers a corporate
    proxy's certificate; without it the proxy is refused, finally, before any request."""
    ca, cert, key = make_test_ca(tmp_path, "proxy")
    with TlsFront(forward_proxy.port, cert, key) as front:
        entry = _a_model(ngc_emulator)

        async def use(client: NgcClient) -> Answer:
            return await client.model_details(entry)

        trusted = fast_settings(ngc_emulator.url, proxy=front.url, ca_bundle=ca)
        answer = with_client(trusted, use)
        assert answer.status == 200 and forward_proxy.requests == 1
        with pytest.raises(RequestFailed, match="TLS certificate verification failed"):
            with_client(fast_settings(ngc_emulator.url, proxy=front.url), use)
        assert forward_proxy.requests == 1
