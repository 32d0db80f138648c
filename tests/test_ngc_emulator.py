"""Tests of the NGC emulator and the forward proxy, over real loopback HTTP with httpx."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import (
    REMOVE,
    VALID_KEY,
    EmulatedModel,
    Fault,
    NgcEmulator,
    http_date,
    make_models,
)

AUTH = {"Authorization": f"Bearer {VALID_KEY}"}
KEY = "/v3/keys/get-caller-info"
EU_RESTRICTED = {
    "llama-3.2-11b-vision-instruct",
    "llama-4-maverick-17b-128e-instruct",
    "llama-4-scout-17b-16e-instruct",
    "llama-3.2-90b-vision-instruct",
}
SAMPLE = "llama-3.1-70b-instruct-pb24h2"  # first fixture model, nim/meta


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with httpx.Client(timeout=5.0, limits=limits) as c:
        yield c


def catalog_url(emu: NgcEmulator, page: int = 0, size: int = 100, org: str = "nim") -> str:
    q = json.dumps({"query": f"orgName:{org}", "page": page, "pageSize": size})
    return f"{emu.url}/v2/search/catalog/resources/CONTAINER?{urlencode({'q': q})}"


def repo_url(emu: NgcEmulator, name: str) -> str:
    m = emu.get_model(name)
    team = f"/team/{m.team}" if m.team else ""
    return f"{emu.url}/v2/org/{m.org}{team}/repos/{m.name}?resolve-labels=true"


def container(page: dict[str, Any]) -> list[dict[str, Any]]:
    group = next(g for g in page["results"] if g["groupValue"] == "CONTAINER")
    resources: list[dict[str, Any]] = group["resources"]
    return resources


def walk_catalog(c: httpx.Client, emu: NgcEmulator) -> list[str]:
    ids: list[str] = []
    page = 0
    while True:
        body = c.get(catalog_url(emu, page)).json()
        ids += [r["resourceId"] for r in container(body)] if body["results"] else []
        if body["params"]["page"] >= body["resultPageTotal"] - 1:
            return ids
        page += 1


def test_fixture_and_synthetic_models(ngc_models: list[EmulatedModel], fixtures_dir: Path) -> None:
    assert len(ngc_models) == 186
    assert {m.name for m in ngc_models if m.eu_restricted} == EU_RESTRICTED
    raw = json.loads((fixtures_dir / "ngc/models-2025.json").read_text())
    first = ngc_models[0]
    assert first.name == raw[0]["name"] == SAMPLE and list(first.tags) == raw[0]["tags"]
    assert (first.namespace, first.resource_id) == ("nim/meta", f"nim/meta/{SAMPLE}")
    models = make_models(1000)
    assert len({m.name for m in models}) == 1000 and models[7].name == "synthetic-model-0007"
    teamless = make_models(3, [EmulatedModel("x", team=None)])
    assert teamless[-1].resource_id == "nim/synthetic-model-0002"


def test_catalog_pages(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    body = client.get(catalog_url(emu)).json()
    assert (body["resultTotal"], body["params"]["pageSize"], body["resultPageTotal"]) == (
        186, 25, 8,  # the requested 100 capped at 25
    )  # fmt: skip
    scored, group = body["results"]
    assert scored["resources"] == group["resources"] and group["totalCount"] == 186
    resource, model = group["resources"][0], emu.get_model(SAMPLE)
    assert (resource["resourceId"], resource["teamName"]) == (model.resource_id, "meta")
    attrs = {a["key"]: a["value"] for a in resource["attributes"]}
    assert attrs["latestTag"] == model.latest_tag
    assert attrs["latestTagPushedDate"] == resource["dateModified"] == model.date_modified
    ids = walk_catalog(client, emu)
    assert len(ids) == len(set(ids)) == 186 and ids == walk_catalog(client, emu)
    assert emu.page_calls == {0: 3} | {p: 2 for p in range(1, 8)}
    assert client.get(catalog_url(emu, org="nvidia")).json()["results"] == []
    base = emu.url + "/v2/search/catalog/resources/CONTAINER"
    for params in ({}, {"q": "{nope"}, {"q": "[1]"}, {"q": json.dumps({"pageSize": 0})}):
        assert client.get(base, params=params).status_code == 400, params
    assert client.post(base).status_code == client.get(emu.url + "/v2/x").status_code == 404
    assert emu.count("other") == 2


def test_catalog_oddities(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.page_total_hook = lambda page, computed: 5 if page == 0 else computed
    emu.result_total_hook = lambda page, n: n * 1000 + page
    first, second = (client.get(catalog_url(emu, p)).json() for p in (0, 1))
    assert (first["resultPageTotal"], second["resultPageTotal"]) == (5, 8)
    assert (first["resultTotal"], second["resultTotal"]) == (186_000, 186_001)
    emu.page_total_hook = emu.result_total_hook = None
    emu.duplicate_across_pages = True
    ids = walk_catalog(client, emu)
    assert len(ids) == 186 + 7 and len(set(ids)) == 186
    emu.duplicate_across_pages = False
    emu.empty_pages = {2}
    assert container(client.get(catalog_url(emu, 2)).json()) == []
    emu.page_size_cap = None
    assert client.get(catalog_url(emu)).json()["resultPageTotal"] == 2


def test_key_validation(
    ngc_emulator: NgcEmulator, client: httpx.Client, fixtures_dir: Path
) -> None:
    url = ngc_emulator.url + KEY
    good = client.post(url, data={"credentials": VALID_KEY}, headers=AUTH)
    expected = json.loads((fixtures_dir / "ngc/get-caller-info.json").read_text())
    assert good.status_code == 200 and good.json() == expected
    wrong = {"Authorization": "Bearer nvapi-wrong"}
    right, bad = {"credentials": VALID_KEY}, {"credentials": "nvapi-wrong"}
    cases = [(bad, wrong), (right, wrong), (bad, AUTH), (right, {}), ({}, AUTH)]
    for data, headers in cases:
        r = client.post(url, data=data, headers=headers)
        assert r.json() == {"requestStatus": {"statusCode": "UNAUTHORIZED"}}
    assert client.post(url, json={"credentials": VALID_KEY}, headers=AUTH).status_code == 401
    assert ngc_emulator.auth_failures == len(cases) + 1
    assert ngc_emulator.count("key", status=200) == 1


def test_model_answers(ngc_emulator: NgcEmulator, client: httpx.Client, fixtures_dir: Path) -> None:
    emu = ngc_emulator
    raw = json.loads((fixtures_dir / "ngc/models-2025.json").read_text())
    template = json.loads((fixtures_dir / "ngc/repo-llama-3.1-8b-instruct.json").read_text())
    for item in raw[:20]:
        body = client.get(repo_url(emu, item["name"]), headers=AUTH).json()
        for key in ("name", "displayName", "shortDescription", "namespace", "tags", "latestTag"):
            assert body[key] == item[key]
        assert set(template) <= set(body)
    url = repo_url(emu, SAMPLE)
    for headers in ({}, {"Authorization": "Bearer nvapi-bad"}, {"Authorization": VALID_KEY}):
        assert client.get(url, headers=headers).status_code == 401
    base = emu.url + "/v2/org/nim"
    for path in ("/team/meta/repos/none", f"/team/nvidia/repos/{SAMPLE}", f"/repos/{SAMPLE}"):
        assert client.get(base + path, headers=AUTH).status_code == 404
    emu.set_models([EmulatedModel("teamless", team=None, tags=("2.0", "1"), latest_tag=None)])
    first = container(client.get(catalog_url(emu)).json())[0]
    assert "teamName" not in first and "latestTag" not in {a["key"] for a in first["attributes"]}
    body = client.get(repo_url(emu, "teamless"), headers=AUTH).json()
    assert (body["namespace"], body["latestTag"]) == ("nim", "2.0")


def test_model_changes(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.update_model(SAMPLE, tags=("9.9", "latest"), latest_tag="9.9")
    assert client.get(repo_url(emu, SAMPLE), headers=AUTH).json()["tags"] == ["9.9", "latest"]
    url = repo_url(emu, SAMPLE)
    emu.remove_model(SAMPLE)
    assert client.get(url, headers=AUTH).status_code == 404
    emu.add_models([EmulatedModel("new-one")])
    assert client.get(catalog_url(emu)).json()["resultTotal"] == 186
    with pytest.raises(ValueError):
        emu.add_models([EmulatedModel("new-one")])
    emu.set_models([])
    assert client.get(catalog_url(emu)).json()["resultPageTotal"] == 0


def test_eu_callers_and_their_faults(
    ngc_emulator: NgcEmulator, forward_proxy: ForwardProxy, client: httpx.Client
) -> None:
    emu = ngc_emulator
    emu.eu_addresses = {"127.0.0.2"}  # the forward proxy dials from there
    url = repo_url(emu, SAMPLE)
    with httpx.Client(proxy=forward_proxy.url, timeout=5.0) as via_eu:
        for name in sorted(EU_RESTRICTED):
            eu = via_eu.get(repo_url(emu, name), headers=AUTH)
            assert (eu.status_code, eu.content) == (451, b"")
            assert client.get(repo_url(emu, name), headers=AUTH).status_code == 200
        emu.fault_model_eu(SAMPLE, Fault.status(502), Fault.status(429, retry_after="0"))
        emu.fault_model_eu_forever(SAMPLE, Fault.status(503))
        assert client.get(url, headers=AUTH).status_code == 200 and emu.pending_faults() == 2
        assert [via_eu.get(url, headers=AUTH).status_code for _ in range(3)] == [502, 429, 503]
        emu.fault_model(SAMPLE, Fault.status(500))  # queued for all before the EU forever
        assert [via_eu.get(url, headers=AUTH).status_code for _ in range(2)] == [500, 503]
        emu.eu_mode = True  # every caller is an EU caller
        assert client.get(url, headers=AUTH).status_code == 503
        emu.eu_mode = False
        emu.fault_model_eu_forever(SAMPLE, None)
        assert via_eu.get(url, headers=AUTH).status_code == 200
    assert {r.client_address for r in emu.requests} == {"127.0.0.1", "127.0.0.2"}
    assert emu.errors == []


def test_forward_proxy(ngc_emulator: NgcEmulator, forward_proxy: ForwardProxy) -> None:
    target = f"127.0.0.1:{ngc_emulator.port}"
    with socket.create_connection(("127.0.0.1", forward_proxy.port), timeout=5) as s:
        s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        assert s.recv(1024).startswith(b"HTTP/1.1 200")
        s.sendall(f"GET /v2/x HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 404 ") and forward_proxy.connects == 1
    with ForwardProxy(username="u", password="p") as proxy:
        with httpx.Client(proxy=f"http://127.0.0.1:{proxy.port}", timeout=5.0) as c:
            assert c.get(catalog_url(ngc_emulator)).status_code == 407
        with httpx.Client(proxy=proxy.url, timeout=5.0) as c:
            assert c.get(catalog_url(ngc_emulator)).status_code == 200
            assert c.get("http://192.0.2.1/").status_code == 403  # not loopback: refused
        assert proxy.auth_failures == 1


def test_queued_and_forever_faults(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    date = http_date(1)
    emu.fault_model(
        SAMPLE, Fault.status(503), Fault.status(500, body=b'{"error": true}'),
        Fault.status(429, retry_after="1"), Fault.status(429, retry_after=date),
    )  # fmt: skip
    answers = [client.get(repo_url(emu, SAMPLE), headers=AUTH) for _ in range(5)]
    assert [r.status_code for r in answers] == [503, 500, 429, 429, 200]
    assert answers[1].json() == {"error": True}
    assert [r.headers["Retry-After"] for r in answers[2:4]] == ["1", date]
    emu.fault_model_forever(SAMPLE, Fault.status(500))
    assert [client.get(repo_url(emu, SAMPLE)).status_code for _ in range(2)] == [500, 500]
    emu.fault_model_forever(SAMPLE, None)
    emu.fault_page(1, Fault.status(503))
    assert [client.get(catalog_url(emu, 1)).status_code for _ in range(2)] == [503, 200]
    emu.fault_key(Fault.status(500))
    key = {"credentials": VALID_KEY}
    assert [client.post(emu.url + KEY, data=key, headers=AUTH).status_code for _ in "ab"] == [
        500, 200,
    ]  # fmt: skip
    assert emu.pending_faults() == 0


def test_bad_bodies(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    url = repo_url(emu, SAMPLE)
    emu.fault_model(SAMPLE, Fault.garbage(), Fault.html(), Fault.deeply_nested(5))
    garbage = client.get(url, headers=AUTH)
    assert garbage.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        garbage.json()
    assert client.get(url, headers=AUTH).headers["content-type"].startswith("text/html")
    assert client.get(url, headers=AUTH).content == b"[[[[[]]]]]"
    emu.fault_model(SAMPLE, Fault.wrong_fields(latestTag=REMOVE, tags="oops"))
    body = client.get(url, headers=AUTH).json()
    assert "latestTag" not in body and body["tags"] == "oops"
    emu.fault_page(0, Fault.wrong_resource_fields(resourceId=REMOVE, name=None))
    resource = container(client.get(catalog_url(emu)).json())[0]
    assert "resourceId" not in resource and resource["name"] is None


def test_resets_hangs_and_a_prompt_stop(fixtures_dir: Path, client: httpx.Client) -> None:
    emu = NgcEmulator(fixtures_dir=fixtures_dir).start()
    url = repo_url(emu, SAMPLE)
    emu.fault_model(SAMPLE, Fault.reset(), Fault.hang(0.1), Fault.hang(30))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.get(url, headers=AUTH)
    started = time.monotonic()
    assert client.get(url, headers=AUTH).status_code == 200
    assert time.monotonic() - started >= 0.1
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.get(url, headers=AUTH, timeout=10)
        except httpx.HTTPError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while emu.model_calls[SAMPLE] < 3:
        time.sleep(0.01)
    started = time.monotonic()
    emu.stop()
    caller.join(10)
    assert time.monotonic() - started < 5.0  # not the 30 s hang
    assert not caller.is_alive() and len(errors) == 1
    assert emu.count("model", status=0) == 2 and emu.errors == []


def test_huge_answers(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.fault_model(SAMPLE, Fault.huge(5_000_000), Fault.huge(300_000, declare_length=False))
    r = client.get(repo_url(emu, SAMPLE), headers=AUTH)
    assert len(r.content) == 5_000_000 == int(r.headers["content-length"])
    r = client.get(repo_url(emu, SAMPLE), headers=AUTH)
    assert len(r.content) == 300_000 and "content-length" not in r.headers
    emu.fault_model(SAMPLE, Fault.huge())  # 50 MB, abandoned after the first chunk
    with client.stream("GET", repo_url(emu, SAMPLE), headers=AUTH) as stream:
        next(stream.iter_bytes())
    assert emu.errors == []


def test_flaky_is_seeded(fixtures_dir: Path, client: httpx.Client) -> None:
    def statuses() -> list[int]:
        knobs: dict[str, Any] = {"flaky_rate": 0.3, "flaky_429_rate": 0.2, "seed": 7}
        with NgcEmulator(fixtures_dir=fixtures_dir, **knobs) as emu:
            out = [client.get(repo_url(emu, SAMPLE), headers=AUTH).status_code for _ in range(40)]
            assert client.get(catalog_url(emu)).status_code == 200  # models only
            return out

    first = statuses()
    assert first == statuses() and set(first) == {200, 429, 503}


def test_counters_and_latency(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.latency = 0.3
    emu.latency_by_kind = {"key": 0.0}
    names = [m.name for m in emu.models[:16]]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: client.get(repo_url(emu, n), headers=AUTH), names))
    codes = [r.status_code for r in answers]
    assert codes == [200] * 16 and emu.model_calls == dict.fromkeys(names, 1)
    assert emu.max_in_flight == 16 and emu.max_in_flight_by_kind == {"model": 16}
    records = emu.requests
    assert max(r.start_time for r in records) < min(r.end_time for r in records)
    assert all(r.end_time - r.start_time >= 0.3 for r in records)
    client.post(emu.url + KEY)
    assert emu.requests[-1].end_time - emu.requests[-1].start_time < 0.3
    emu.reset_counters()
    assert (emu.requests, emu.max_in_flight, emu.model_calls) == ([], 0, {})


def test_hostile_answers(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    import gzip
    import zlib

    emu = ngc_emulator
    emu.fault_model(SAMPLE, Fault.bomb(64 << 20), Fault.bomb(16 << 20, layers=2))
    with client.stream("GET", repo_url(emu, SAMPLE), headers=AUTH) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip" and len(raw) < 128 * 1024
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    assert len(inflate.decompress(raw)) == 64 << 20 and inflate.eof
    with client.stream("GET", repo_url(emu, SAMPLE), headers=AUTH) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip, gzip"
    assert len(gzip.decompress(gzip.decompress(raw))) == 16 << 20
    plain = client.get(repo_url(emu, SAMPLE), headers=AUTH).content
    emu.fault_model(SAMPLE, Fault.encoded("gzip,gzip"))
    with client.stream("GET", repo_url(emu, SAMPLE), headers=AUTH) as r:
        assert r.headers["content-encoding"] == "gzip,gzip"
        assert b"".join(r.iter_raw()) == plain  # the header only: the body is plain JSON
    middle = len(VALID_KEY) // 2
    echoes = {
        "verbatim": f"Bearer {VALID_KEY}",
        "upper": f"BEARER {VALID_KEY.upper()}",
        "piece": VALID_KEY[middle - 6 : middle + 6],
        "escaped": f"Bearer {VALID_KEY}",
    }
    for style, expected in echoes.items():
        emu.fault_model(SAMPLE, Fault.echo("shortDescription", style=style))  # type: ignore[arg-type]
        r = client.get(repo_url(emu, SAMPLE), headers=AUTH)
        assert r.json()["shortDescription"] == expected
        assert (VALID_KEY.encode() in r.content) is (style == "verbatim")
