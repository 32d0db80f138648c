"""The NGC emulator's fidelity to NGC (nim-contract.md, section 1), and the faults and
counters the other suites rely on meaning what they say, over real loopback HTTP."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import (
    VALID_KEY,
    EmulatedModel,
    Fault,
    NgcEmulator,
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
    with httpx.Client(timeout=5.0, limits=limits) as client:
        yield client


def catalog_url(emu: NgcEmulator, page: int = 0, size: int = 100, org: str = "nim") -> str:
    query = json.dumps({"query": f"orgName:{org}", "page": page, "pageSize": size})
    return f"{emu.url}/v2/search/catalog/resources/CONTAINER?{urlencode({'q': query})}"


def repo_url(emu: NgcEmulator, name: str) -> str:
    model = emu.get_model(name)
    team = f"/team/{model.team}" if model.team else ""
    return f"{emu.url}/v2/org/{model.org}{team}/repos/{model.name}?resolve-labels=true"


def container(page: dict[str, Any]) -> list[dict[str, Any]]:
    group = next(g for g in page["results"] if g["groupValue"] == "CONTAINER")
    resources: list[dict[str, Any]] = group["resources"]
    return resources


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
    # The requested 100 capped at 25.
    assert body["resultTotal"] == 186
    assert body["params"]["pageSize"] == 25
    assert body["resultPageTotal"] == 8
    scored, group = body["results"]
    assert scored["resources"] == group["resources"] and group["totalCount"] == 186
    resource = group["resources"][0]
    model = emu.get_model(SAMPLE)
    assert (resource["resourceId"], resource["teamName"]) == (model.resource_id, "meta")
    attrs = {a["key"]: a["value"] for a in resource["attributes"]}
    assert attrs["latestTag"] == model.latest_tag
    assert attrs["latestTagPushedDate"] == resource["dateModified"] == model.date_modified
    ids = []
    for page in range(8):
        ids += [r["resourceId"] for r in container(client.get(catalog_url(emu, page)).json())]
    assert len(ids) == len(set(ids)) == 186
    assert client.get(catalog_url(emu, org="nvidia")).json()["results"] == []
    base = emu.url + "/v2/search/catalog/resources/CONTAINER"
    for params in ({}, {"q": "{nope"}, {"q": "[1]"}, {"q": json.dumps({"pageSize": 0})}):
        assert client.get(base, params=params).status_code == 400, params
    assert client.post(base).status_code == client.get(emu.url + "/v2/x").status_code == 404


def test_key_validation(
    ngc_emulator: NgcEmulator, client: httpx.Client, fixtures_dir: Path
) -> None:
    url = ngc_emulator.url + KEY
    good = client.post(url, data={"credentials": VALID_KEY}, headers=AUTH)
    expected = json.loads((fixtures_dir / "ngc/get-caller-info.json").read_text())
    assert good.status_code == 200 and good.json() == expected
    wrong = {"Authorization": "Bearer nvapi-wrong"}
    right = {"credentials": VALID_KEY}
    bad = {"credentials": "nvapi-wrong"}
    cases = [(bad, wrong), (right, wrong), (bad, AUTH), (right, {}), ({}, AUTH)]
    for data, headers in cases:
        answer = client.post(url, data=data, headers=headers)
        assert answer.json() == {"requestStatus": {"statusCode": "UNAUTHORIZED"}}
    assert client.post(url, json={"credentials": VALID_KEY}, headers=AUTH).status_code == 401
    assert ngc_emulator.auth_failures == len(cases) + 1


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


def test_eu_callers_get_451_for_restricted_models(
    ngc_emulator: NgcEmulator, forward_proxy: ForwardProxy, client: httpx.Client
) -> None:
    emu = ngc_emulator
    emu.eu_addresses = {"127.0.0.2"}  # the forward proxy dials from there
    with httpx.Client(proxy=forward_proxy.url, timeout=5.0) as via_eu:
        for name in sorted(EU_RESTRICTED):
            eu = via_eu.get(repo_url(emu, name), headers=AUTH)
            assert (eu.status_code, eu.content) == (451, b"")
            assert client.get(repo_url(emu, name), headers=AUTH).status_code == 200
        assert via_eu.get(repo_url(emu, SAMPLE), headers=AUTH).status_code == 200
    assert {r.client_address for r in emu.requests} == {"127.0.0.1", "127.0.0.2"}


def test_the_forward_proxy_asks_for_credentials_and_stays_on_loopback(
    ngc_emulator: NgcEmulator,
) -> None:
    with ForwardProxy(username="u", password="p") as proxy:
        with httpx.Client(proxy=f"http://127.0.0.1:{proxy.port}", timeout=5.0) as anonymous:
            assert anonymous.get(catalog_url(ngc_emulator)).status_code == 407
        with httpx.Client(proxy=proxy.url, timeout=5.0) as known:
            assert known.get(catalog_url(ngc_emulator)).status_code == 200
            assert known.get("http://192.0.2.1/").status_code == 403  # never off the machine
        assert proxy.auth_failures == 1


def test_counters_and_latency(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    """The counters other suites bound (peak concurrency, request times) are measured."""
    emu = ngc_emulator
    emu.latency_by_kind = {"model": 0.3}
    names = [m.name for m in emu.models[:16]]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: client.get(repo_url(emu, n), headers=AUTH), names))
    assert [r.status_code for r in answers] == [200] * 16
    assert emu.model_calls == dict.fromkeys(names, 1)
    assert emu.max_in_flight == 16 and emu.max_in_flight_by_kind == {"model": 16}
    records = emu.requests
    assert max(r.start_time for r in records) < min(r.end_time for r in records)
    assert all(r.end_time - r.start_time >= 0.3 for r in records)
    emu.reset_counters()
    assert (emu.requests, emu.max_in_flight, emu.model_calls) == ([], 0, {})


def test_hostile_answers_are_what_they_claim(
    ngc_emulator: NgcEmulator, client: httpx.Client
) -> None:
    emu = ngc_emulator
    emu.fault_model(SAMPLE, Fault.bomb(64 << 20), Fault.bomb(16 << 20, layers=2))
    with client.stream("GET", repo_url(emu, SAMPLE), headers=AUTH) as answer:
        raw = b"".join(answer.iter_raw())
        assert answer.headers["content-encoding"] == "gzip" and len(raw) < 128 * 1024
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    assert len(inflate.decompress(raw)) == 64 << 20 and inflate.eof
    with client.stream("GET", repo_url(emu, SAMPLE), headers=AUTH) as answer:
        raw = b"".join(answer.iter_raw())
        assert answer.headers["content-encoding"] == "gzip, gzip"
    assert len(gzip.decompress(gzip.decompress(raw))) == 16 << 20
    middle = len(VALID_KEY) // 2
    echoes = {
        "verbatim": f"Bearer {VALID_KEY}",
        "upper": f"BEARER {VALID_KEY.upper()}",
        "piece": VALID_KEY[middle - 6 : middle + 6],
        "escaped": f"Bearer {VALID_KEY}",
    }
    for style, expected in echoes.items():
        emu.fault_model(SAMPLE, Fault.echo("shortDescription", style=style))  # type: ignore[arg-type]
        answer = client.get(repo_url(emu, SAMPLE), headers=AUTH)
        assert answer.json()["shortDescription"] == expected
        assert (VALID_KEY.encode() in answer.content) is (style == "verbatim")
