"""The client through a proxy: credentials, and TLS to an https proxy. That proxies from
the environment are ignored and ``--proxy`` carries every request is shown through the
CLI in tests/ngc/test_hostile_network.py."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from nimgen.collection import CatalogEntry
from nimgen.ngc.client import Answer, NgcClient, RequestFailed
from tests.ngc.conftest import fast_settings, with_client
from tests.support.fault_kit import TlsFront, make_test_ca
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import NgcEmulator


def _a_model(emu: NgcEmulator) -> CatalogEntry:
    model = emu.models[0]
    return CatalogEntry(model.resource_id, model.org, model.team, model.name, None, "1", None)


def _details(emu: NgcEmulator, proxy: str | None = None) -> Answer:
    entry = _a_model(emu)

    async def use(client: NgcClient) -> Answer:
        await client.validate_key()
        return await client.model_details(entry)

    return with_client(fast_settings(emu.url, proxy=proxy), use)


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
