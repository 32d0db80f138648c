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

import httpx
import pytest

from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import (
    KEY_PATH,
    REMOVE,
    VALID_KEY,
    EmulatedModel,
    Fault,
    NgcEmulator,
    http_date,
    make_models,
)

AUTH = {"Authorization": f"Bearer {VALID_KEY}"}
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


def container(page: dict[str, Any]) -> dict[str, Any]:
    group: dict[str, Any] = next(g for g in page["results"] if g["groupValue"] == "CONTAINER")
    return group


def walk_catalog(c: httpx.Client, emu: NgcEmulator, page_size: int = 100) -> list[str]:
    ids: list[str] = []
    page = 0
    while True:
        body = c.get(emu.catalog_url(page, page_size)).json()
        ids += [r["resourceId"] for r in container(body)["resources"]] if body["results"] else []
        if body["params"]["page"] >= body["resultPageTotal"] - 1:
            return ids
        page += 1


# --------------------------------------------------------------------------- fixtures


def test_fixture_models(ngc_models: list[EmulatedModel], fixtures_dir: Path) -> None:
    assert len(ngc_models) == 186
    assert {m.name for m in ngc_models if m.eu_restricted} == EU_RESTRICTED
    raw = json.loads((fixtures_dir / "ngc/models-2025.json").read_text())
    first = ngc_models[0]
    assert first.name == raw[0]["name"] == SAMPLE
    assert (first.org, first.team, first.namespace) == ("nim", "meta", "nim/meta")
    assert first.resource_id == f"nim/meta/{SAMPLE}"
    assert list(first.tags) == raw[0]["tags"]
    assert first.date_modified == first.latest_tag_pushed_date == raw[0]["updatedDate"]


def test_make_models_distinct() -> None:
    models = make_models(1000)
    assert len({m.name for m in models}) == 1000
    assert models[7].name == "synthetic-model-0007"
    teamless = make_models(3, [EmulatedModel("x", team=None)])
    assert [m.resource_id for m in teamless][-1] == "nim/synthetic-model-0002"


# --------------------------------------------------------------------------- catalog


def test_catalog_pagination_with_cap(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    body = client.get(ngc_emulator.catalog_url(0, 100)).json()
    assert body["resultTotal"] == 186
    assert body["params"]["pageSize"] == 25
    assert body["resultPageTotal"] == 8  # ceil(186 / 25), not ceil(186 / 100)
    scored, group = body["results"]
    assert scored["groupValue"] == "_scored"
    assert group["totalCount"] == 186
    assert scored["resources"] == group["resources"]
    ids = walk_catalog(client, ngc_emulator)
    assert len(ids) == len(set(ids)) == 186
    assert ids == walk_catalog(client, ngc_emulator)  # stable order
    assert ngc_emulator.page_calls == {0: 3} | {p: 2 for p in range(1, 8)}
    last = client.get(ngc_emulator.catalog_url(7, 100)).json()
    assert len(container(last)["resources"]) == 186 - 7 * 25


def test_catalog_resource_shape(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    resource = container(client.get(ngc_emulator.catalog_url(0, 1)).json())["resources"][0]
    model = ngc_emulator.get_model(SAMPLE)
    assert resource["resourceId"] == model.resource_id
    assert resource["name"] == SAMPLE
    assert resource["displayName"] == model.display_name
    assert resource["orgName"] == "nim" and resource["teamName"] == "meta"
    assert resource["resourceType"] == "CONTAINER"
    assert resource["dateModified"] == model.date_modified
    attrs = {a["key"]: a["value"] for a in resource["attributes"]}
    assert attrs["latestTag"] == model.latest_tag
    assert attrs["latestTagPushedDate"] == model.latest_tag_pushed_date
    assert "size" in attrs and resource["labels"]


def test_catalog_org_and_bad_queries(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    other = client.get(ngc_emulator.catalog_url(0, 25, org="nvidia")).json()
    assert other["resultTotal"] == 0 and other["results"] == []
    base = ngc_emulator.url + "/v2/search/catalog/resources/CONTAINER"
    for params in ({}, {"q": "{nope"}, {"q": "[1]"}, {"q": json.dumps({"pageSize": 0})}):
        r = client.get(base, params=params)
        assert r.status_code == 400, params
        assert r.json()["requestStatus"]["statusCode"] == "BAD_REQUEST"
    r = client.post(base)
    assert r.status_code == 404 and r.json()["requestStatus"]["statusCode"] == "NOT_FOUND"
    assert client.get(ngc_emulator.url + "/v2/nothing").status_code == 404
    assert ngc_emulator.count("other") == 2


def test_catalog_oddities(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.page_total_hook = lambda page, computed: 5 if page == 0 else computed
    assert client.get(emu.catalog_url(0, 25)).json()["resultPageTotal"] == 5
    assert client.get(emu.catalog_url(1, 25)).json()["resultPageTotal"] == 8
    emu.page_total_hook = None
    emu.duplicate_across_pages = True
    ids = walk_catalog(client, emu)
    assert len(ids) == 186 + 7 and len(set(ids)) == 186
    emu.duplicate_across_pages = False
    emu.empty_pages = {2}
    page2 = client.get(emu.catalog_url(2, 25)).json()
    assert container(page2)["resources"] == [] and page2["resultPageTotal"] == 8
    assert len(set(walk_catalog(client, emu))) == 186 - 25
    emu.page_size_cap = None
    assert client.get(emu.catalog_url(0, 100)).json()["resultPageTotal"] == 2


def test_thousand_models(fixtures_dir: Path, client: httpx.Client) -> None:
    with NgcEmulator(make_models(1000), fixtures_dir=fixtures_dir) as emu:
        body = client.get(emu.catalog_url(0, 100)).json()
        assert (body["resultTotal"], body["resultPageTotal"]) == (1000, 40)
        r = client.get(emu.repo_url("synthetic-model-0999"), headers=AUTH)
        assert r.status_code == 200 and r.json()["name"] == "synthetic-model-0999"


# --------------------------------------------------------------------------- key


def test_key_validation(
    ngc_emulator: NgcEmulator, client: httpx.Client, fixtures_dir: Path
) -> None:
    url = ngc_emulator.key_url
    good = client.post(url, data={"credentials": VALID_KEY}, headers=AUTH)
    assert good.status_code == 200
    expected = json.loads((fixtures_dir / "ngc/get-caller-info.json").read_text())
    assert good.json() == expected
    bad_key = "nvapi-wrong"
    cases: list[tuple[dict[str, str], dict[str, str]]] = [
        ({"credentials": bad_key}, {"Authorization": f"Bearer {bad_key}"}),
        ({"credentials": VALID_KEY}, {"Authorization": f"Bearer {bad_key}"}),
        ({"credentials": bad_key}, AUTH),
        ({"credentials": VALID_KEY}, {}),
        ({}, AUTH),
    ]
    for data, headers in cases:
        r = client.post(url, data=data, headers=headers)
        assert r.status_code == 401
        assert r.json() == {"requestStatus": {"statusCode": "UNAUTHORIZED"}}
    as_json = client.post(url, json={"credentials": VALID_KEY}, headers=AUTH)
    assert as_json.status_code == 401
    assert ngc_emulator.auth_failures == len(cases) + 1
    assert ngc_emulator.count("key") == len(cases) + 2
    assert ngc_emulator.count("key", status=200) == 1


# --------------------------------------------------------------------------- per-model


def test_model_answer(ngc_emulator: NgcEmulator, client: httpx.Client, fixtures_dir: Path) -> None:
    raw = json.loads((fixtures_dir / "ngc/models-2025.json").read_text())
    template = json.loads((fixtures_dir / "ngc/repo-llama-3.1-8b-instruct.json").read_text())
    for item in raw[:20]:
        r = client.get(ngc_emulator.repo_url(item["name"]), headers=AUTH)
        assert r.status_code == 200
        body = r.json()
        for key in ("name", "displayName", "shortDescription", "namespace", "tags"):
            assert body[key] == item[key]
        assert body["latestTag"] == item["latestTag"]
        assert body["updatedDate"] == item["updatedDate"]
        assert body["description"] == template["description"]
        assert set(template) <= set(body)
    url = ngc_emulator.url + f"/v2/org/nim/team/meta/repos/{SAMPLE}?resolve-labels=true"
    assert client.get(url, headers=AUTH).status_code == 200


def test_model_auth_and_not_found(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    url = ngc_emulator.repo_url(SAMPLE)
    r = client.get(url)
    assert r.status_code == 401
    assert r.json()["requestStatus"]["statusCode"] == "UNAUTHORIZED"
    assert client.get(url, headers={"Authorization": "Bearer nvapi-bad"}).status_code == 401
    assert client.get(url, headers={"Authorization": VALID_KEY}).status_code == 401
    assert ngc_emulator.auth_failures == 3
    base = ngc_emulator.url + "/v2/org/nim"
    assert client.get(f"{base}/team/meta/repos/no-such-model", headers=AUTH).status_code == 404
    assert client.get(f"{base}/team/nvidia/repos/{SAMPLE}", headers=AUTH).status_code == 404
    assert client.get(f"{base}/repos/{SAMPLE}", headers=AUTH).status_code == 404
    assert ngc_emulator.model_calls[SAMPLE] == 5


def test_teamless_and_missing_latest_tag(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.set_models(
        [
            EmulatedModel("teamless", team=None, tags=("2.0", "latest"), latest_tag=None),
            EmulatedModel("teamed", team="nvidia", tags=("1.0",), latest_tag="1.0"),
        ]
    )
    resources = container(client.get(emu.catalog_url(0, 25)).json())["resources"]
    first = resources[0]
    assert first["resourceId"] == "nim/teamless" and "teamName" not in first
    assert "latestTag" not in {a["key"] for a in first["attributes"]}
    assert emu.repo_url("teamless") == f"{emu.url}/v2/org/nim/repos/teamless?resolve-labels=true"
    body = client.get(emu.repo_url("teamless"), headers=AUTH).json()
    assert body["namespace"] == "nim" and body["latestTag"] == "2.0"
    assert body["tags"] == ["2.0", "latest"]
    wrong = f"{emu.url}/v2/org/nim/team/nvidia/repos/teamless"
    assert client.get(wrong, headers=AUTH).status_code == 404


def test_model_mutations(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.update_model(SAMPLE, tags=("9.9", "latest"), latest_tag="9.9")
    assert client.get(emu.repo_url(SAMPLE), headers=AUTH).json()["tags"] == ["9.9", "latest"]
    removed = emu.remove_model(SAMPLE)
    assert client.get(emu.repo_url(removed), headers=AUTH).status_code == 404
    emu.add_models([EmulatedModel("new-one")])
    assert client.get(emu.catalog_url(0, 25)).json()["resultTotal"] == 186
    assert client.get(emu.repo_url("new-one"), headers=AUTH).status_code == 200
    with pytest.raises(ValueError):
        emu.add_models([EmulatedModel("new-one")])
    emu.set_models([])
    assert client.get(emu.catalog_url(0, 25)).json()["resultPageTotal"] == 0


# --------------------------------------------------------------------------- EU


def test_eu_mode_451(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    ngc_emulator.eu_mode = True
    for name in sorted(EU_RESTRICTED):
        r = client.get(ngc_emulator.repo_url(name), headers=AUTH)
        assert r.status_code == 451
        assert r.content == b""
    assert client.get(ngc_emulator.repo_url(SAMPLE), headers=AUTH).status_code == 200
    ngc_emulator.eu_mode = False
    assert client.get(ngc_emulator.repo_url(min(EU_RESTRICTED)), headers=AUTH).status_code == 200


def test_eu_via_forward_proxy(
    ngc_emulator: NgcEmulator, forward_proxy: ForwardProxy, client: httpx.Client
) -> None:
    ngc_emulator.eu_addresses = {"127.0.0.2"}
    with httpx.Client(proxy=forward_proxy.url, timeout=5.0) as via_eu:
        for name in sorted(EU_RESTRICTED):
            r = via_eu.get(ngc_emulator.repo_url(name), headers=AUTH)
            assert (r.status_code, r.content) == (451, b"")
            assert client.get(ngc_emulator.repo_url(name), headers=AUTH).status_code == 200
        assert via_eu.get(ngc_emulator.repo_url(SAMPLE), headers=AUTH).status_code == 200
        key = via_eu.post(ngc_emulator.key_url, data={"credentials": VALID_KEY}, headers=AUTH)
        assert key.status_code == 200
        assert via_eu.get(ngc_emulator.catalog_url(0, 25)).json()["resultTotal"] == 186
    assert forward_proxy.requests == 7
    clients = {r.client_address for r in ngc_emulator.requests}
    assert clients == {"127.0.0.1", "127.0.0.2"}


def test_eu_only_model_faults(
    ngc_emulator: NgcEmulator, forward_proxy: ForwardProxy, client: httpx.Client
) -> None:
    emu = ngc_emulator
    emu.eu_addresses = {"127.0.0.2"}
    url = emu.repo_url(SAMPLE)
    emu.fault_model_eu(SAMPLE, Fault.status(502), Fault.status(429, retry_after="0"))
    emu.fault_model_eu_forever(SAMPLE, Fault.status(503))
    assert emu.pending_faults() == 2
    with httpx.Client(proxy=forward_proxy.url, timeout=5.0) as via_eu:
        assert client.get(url, headers=AUTH).status_code == 200  # 127.0.0.1: not in the EU
        assert emu.pending_faults() == 2
        assert [via_eu.get(url, headers=AUTH).status_code for _ in range(4)] == [
            502,
            429,
            503,
            503,
        ]
        assert client.get(url, headers=AUTH).status_code == 200
        assert via_eu.get(emu.repo_url(min(EU_RESTRICTED)), headers=AUTH).status_code == 451
        # eu_mode makes every caller an EU caller.
        emu.eu_mode = True
        assert client.get(url, headers=AUTH).status_code == 503
        emu.eu_mode = False
        # Queued faults for everyone come before the EU forever fault.
        emu.fault_model(SAMPLE, Fault.status(500))
        assert via_eu.get(url, headers=AUTH).status_code == 500
        assert via_eu.get(url, headers=AUTH).status_code == 503
        emu.fault_model_eu_forever(SAMPLE, None)
        assert via_eu.get(url, headers=AUTH).status_code == 200
        emu.fault_model_eu(SAMPLE, Fault.status(503))
        emu.fault_model_eu_forever(SAMPLE, Fault.status(503))
        emu.clear_faults()
        assert emu.pending_faults() == 0
        assert via_eu.get(url, headers=AUTH).status_code == 200
    by_client = sorted({(r.client_address, r.status) for r in emu.requests if r.kind == "model"})
    assert by_client == [
        ("127.0.0.1", 200),
        ("127.0.0.1", 503),
        ("127.0.0.2", 200),
        ("127.0.0.2", 429),
        ("127.0.0.2", 451),
        ("127.0.0.2", 500),
        ("127.0.0.2", 502),
        ("127.0.0.2", 503),
    ]
    assert emu.model_calls[SAMPLE] == 11
    assert emu.errors == []


def test_connect_tunnel(ngc_emulator: NgcEmulator, forward_proxy: ForwardProxy) -> None:
    ngc_emulator.eu_addresses = {"127.0.0.2"}
    name = min(EU_RESTRICTED)
    with socket.create_connection(("127.0.0.1", forward_proxy.port), timeout=5) as s:
        target = f"127.0.0.1:{ngc_emulator.port}"
        s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        assert s.recv(1024).startswith(b"HTTP/1.1 200")
        path = f"/v2/org/nim/team/meta/repos/{name}"
        s.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {target}\r\nAuthorization: Bearer {VALID_KEY}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 451 ")
    assert data.endswith(b"\r\n\r\n")  # empty body
    assert forward_proxy.connects == 1


def test_proxy_auth(ngc_emulator: NgcEmulator) -> None:
    with ForwardProxy(username="u", password="p") as proxy:
        anonymous = f"http://127.0.0.1:{proxy.port}"
        with httpx.Client(proxy=anonymous, timeout=5.0) as c:
            assert c.get(ngc_emulator.catalog_url()).status_code == 407
        with httpx.Client(proxy=proxy.url, timeout=5.0) as c:
            assert c.get(ngc_emulator.catalog_url()).status_code == 200
        assert proxy.auth_failures == 1 and proxy.requests == 2


def test_proxy_refuses_non_loopback(forward_proxy: ForwardProxy) -> None:
    with httpx.Client(proxy=forward_proxy.url, timeout=5.0) as c:
        assert c.get("http://192.0.2.1/").status_code == 403


# --------------------------------------------------------------------------- faults


def test_fault_status_queue(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    date = http_date(1)
    emu.fault_model(
        SAMPLE,
        Fault.status(503),
        Fault.status(502),
        Fault.status(500, body=b'{"error": true}'),
        Fault.status(429, retry_after="1"),
        Fault.status(429, retry_after=date),
    )
    url = emu.repo_url(SAMPLE)
    answers = [client.get(url, headers=AUTH) for _ in range(6)]
    assert [r.status_code for r in answers] == [503, 502, 500, 429, 429, 200]
    assert answers[2].json() == {"error": True}
    assert answers[3].headers["Retry-After"] == "1"
    assert answers[4].headers["Retry-After"] == date
    assert emu.model_calls[SAMPLE] == 6 and emu.pending_faults() == 0


def test_fault_forever_page_and_key(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.fault_model_forever(SAMPLE, Fault.status(500))
    assert [client.get(emu.repo_url(SAMPLE)).status_code for _ in range(3)] == [500] * 3
    emu.fault_model_forever(SAMPLE, None)
    assert client.get(emu.repo_url(SAMPLE), headers=AUTH).status_code == 200
    emu.fault_page(1, Fault.status(503))
    assert client.get(emu.catalog_url(0, 25)).status_code == 200
    assert client.get(emu.catalog_url(1, 25)).status_code == 503
    assert client.get(emu.catalog_url(1, 25)).status_code == 200
    emu.fault_key(Fault.status(500))
    key = {"credentials": VALID_KEY}
    assert client.post(emu.key_url, data=key, headers=AUTH).status_code == 500
    assert client.post(emu.key_url, data=key, headers=AUTH).status_code == 200
    emu.fault_page_forever(0, Fault.html())
    emu.clear_faults()
    assert client.get(emu.catalog_url(0, 25)).status_code == 200


def test_fault_garbage_html_wrong_fields(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.fault_model(SAMPLE, Fault.garbage(), Fault.html())
    garbage = client.get(emu.repo_url(SAMPLE), headers=AUTH)
    assert garbage.status_code == 200
    assert garbage.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        garbage.json()
    html = client.get(emu.repo_url(SAMPLE), headers=AUTH)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    emu.fault_model(SAMPLE, Fault.wrong_fields(latestTag=REMOVE, tags="oops"))
    body = client.get(emu.repo_url(SAMPLE), headers=AUTH).json()
    assert "latestTag" not in body and body["tags"] == "oops"
    emu.fault_page(0, Fault.wrong_fields(resultPageTotal=REMOVE))
    emu.fault_page(0, Fault.wrong_resource_fields(resourceId=REMOVE, name=None))
    assert "resultPageTotal" not in client.get(emu.catalog_url(0, 25)).json()
    resource = container(client.get(emu.catalog_url(0, 25)).json())["resources"][0]
    assert "resourceId" not in resource and resource["name"] is None
    emu.fault_key(Fault.wrong_fields(type="ORG_KEY"))
    key = client.post(emu.key_url, data={"credentials": VALID_KEY}, headers=AUTH)
    assert key.json()["type"] == "ORG_KEY"


def test_fault_reset(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    ngc_emulator.fault_model(SAMPLE, Fault.reset())
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.get(ngc_emulator.repo_url(SAMPLE), headers=AUTH)
    assert client.get(ngc_emulator.repo_url(SAMPLE), headers=AUTH).status_code == 200
    assert ngc_emulator.count("model", status=0) == 1
    assert ngc_emulator.errors == []


def test_fault_hang_and_delay(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.fault_model(SAMPLE, Fault.hang())
    with pytest.raises(httpx.ReadTimeout):
        client.get(emu.repo_url(SAMPLE), headers=AUTH, timeout=0.2)
    deadline = time.monotonic() + 10
    while emu.in_flight and time.monotonic() < deadline:  # noticed the client left
        time.sleep(0.01)
    assert emu.in_flight == 0
    emu.fault_model(SAMPLE, Fault.hang(0.1), Fault.delay(0.1))
    for _ in range(2):
        started = time.monotonic()
        assert client.get(emu.repo_url(SAMPLE), headers=AUTH).status_code == 200
        assert time.monotonic() - started >= 0.1


def test_stop_is_prompt_while_hanging(fixtures_dir: Path) -> None:
    emu = NgcEmulator(fixtures_dir=fixtures_dir).start()
    emu.fault_model(SAMPLE, Fault.hang(30))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.get(emu.repo_url(SAMPLE), headers=AUTH, timeout=10)
        except httpx.HTTPError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while emu.in_flight == 0:
        time.sleep(0.01)
    started = time.monotonic()
    emu.stop()
    caller.join(10)
    assert time.monotonic() - started < 5.0  # not the 30 s hang
    assert not caller.is_alive() and len(errors) == 1
    assert emu.in_flight == 0 and emu.count("model", status=0) == 1


def test_fault_huge(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.fault_model(SAMPLE, Fault.huge(5_000_000), Fault.huge(300_000, declare_length=False))
    r = client.get(emu.repo_url(SAMPLE), headers=AUTH)
    assert r.status_code == 200 and len(r.content) == 5_000_000
    assert r.headers["content-length"] == "5000000"
    assert r.content.startswith(b'{"resultTotal": 1')
    r = client.get(emu.repo_url(SAMPLE), headers=AUTH)
    assert len(r.content) == 300_000 and "content-length" not in r.headers
    emu.fault_model(SAMPLE, Fault.huge())  # 50 MB, abandoned after the first chunk
    with client.stream("GET", emu.repo_url(SAMPLE), headers=AUTH) as stream:
        assert stream.headers["content-length"] == str(50 * 1024 * 1024)
        next(stream.iter_bytes())
    deadline = time.monotonic() + 10
    while emu.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert emu.in_flight == 0 and emu.errors == []


def test_flaky_is_seeded(fixtures_dir: Path, client: httpx.Client) -> None:
    def statuses() -> list[int]:
        with NgcEmulator(
            fixtures_dir=fixtures_dir, flaky_rate=0.3, flaky_429_rate=0.2, seed=7
        ) as emu:
            out = []
            for _ in range(40):
                r = client.get(emu.repo_url(SAMPLE), headers=AUTH)
                if r.status_code == 429:
                    assert r.headers["Retry-After"] == "0"
                out.append(r.status_code)
            assert client.get(emu.catalog_url()).status_code == 200  # models only
            return out

    first = statuses()
    assert first == statuses()
    assert {200, 429, 503} == set(first)


# --------------------------------------------------------------------------- counters


def test_concurrency_counters(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.latency = 0.3
    names = [m.name for m in emu.models[:16]]
    with ThreadPoolExecutor(16) as pool:
        codes = list(
            pool.map(lambda n: client.get(emu.repo_url(n), headers=AUTH).status_code, names)
        )
    assert codes == [200] * 16
    assert emu.max_in_flight == 16 and emu.max_in_flight_by_kind == {"model": 16}
    assert emu.in_flight == 0
    assert emu.model_calls == dict.fromkeys(names, 1)
    records = emu.requests
    assert len(records) == emu.count("model") == 16
    assert max(r.start_time for r in records) < min(r.end_time for r in records)
    assert all(r.end_time - r.start_time >= 0.3 for r in records)
    emu.reset_counters()
    assert (emu.requests, emu.max_in_flight, emu.model_calls) == ([], 0, {})


def test_pages_fetched_concurrently(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    emu = ngc_emulator
    emu.latency_by_kind = {"catalog": 0.1}
    total = client.get(emu.catalog_url(0, 25)).json()["resultPageTotal"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: client.get(emu.catalog_url(p, 25)), range(1, total)))
    starts = emu.page_start_times
    page0_end = emu.requests[0].end_time
    later = [starts[p][0] for p in range(1, total)]
    assert min(later) >= page0_end
    # all in flight together (a count, not a clock: robust on a loaded machine)
    assert emu.max_in_flight_by_kind["catalog"] == total - 1


def test_latency_knob(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    ngc_emulator.latency = 0.3
    started = time.monotonic()
    assert client.post(ngc_emulator.url + KEY_PATH).status_code == 401
    assert time.monotonic() - started >= 0.3
    ngc_emulator.latency_by_kind = {"key": 0.0}
    client.post(ngc_emulator.url + KEY_PATH)
    slow, fast = ngc_emulator.requests[-2:]
    assert fast.end_time - fast.start_time < slow.end_time - slow.start_time


# -- hostile answers: bombs, compression, echoes, nesting, announced totals ---------------


def test_fault_bomb_is_small_on_the_wire_and_huge_inflated(
    ngc_emulator: NgcEmulator, client: httpx.Client
) -> None:
    import gzip
    import zlib

    ngc_emulator.fault_model(SAMPLE, Fault.bomb(64 << 20), Fault.bomb(16 << 20, layers=2))
    with client.stream("GET", ngc_emulator.repo_url(SAMPLE), headers=AUTH) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip"
    assert len(raw) < 128 * 1024
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    assert len(inflate.decompress(raw)) == 64 << 20 and inflate.eof
    with client.stream("GET", ngc_emulator.repo_url(SAMPLE), headers=AUTH) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip, gzip"
    assert len(gzip.decompress(gzip.decompress(raw))) == 16 << 20


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "gzip, gzip"])
def test_fault_compressed_is_the_normal_answer(
    ngc_emulator: NgcEmulator, client: httpx.Client, encoding: str
) -> None:
    plain = client.get(ngc_emulator.repo_url(SAMPLE), headers=AUTH).json()
    ngc_emulator.fault_model(SAMPLE, Fault.compressed(encoding))
    r = client.get(ngc_emulator.repo_url(SAMPLE), headers=AUTH)
    assert r.headers["content-encoding"] == encoding.replace("raw-deflate", "deflate").replace(
        " ", ""
    )
    assert r.json() == plain  # httpx inflates it (raw deflate too)


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("verbatim", f"Bearer {VALID_KEY}"),
        ("upper", f"BEARER {VALID_KEY.upper()}"),
        ("piece", VALID_KEY[len(VALID_KEY) // 2 - 6 : len(VALID_KEY) // 2 + 6]),
        ("escaped", f"Bearer {VALID_KEY}"),
    ],
)
def test_fault_echo_copies_a_request_header(
    ngc_emulator: NgcEmulator, client: httpx.Client, style: str, expected: str
) -> None:
    ngc_emulator.fault_model(SAMPLE, Fault.echo("shortDescription", style=style))  # type: ignore[arg-type]
    r = client.get(ngc_emulator.repo_url(SAMPLE), headers=AUTH)
    assert r.json()["shortDescription"] == expected
    assert (VALID_KEY.encode() in r.content) is (style == "verbatim")


def test_fault_deeply_nested(ngc_emulator: NgcEmulator, client: httpx.Client) -> None:
    ngc_emulator.fault_model(SAMPLE, Fault.deeply_nested(5))
    r = client.get(ngc_emulator.repo_url(SAMPLE), headers=AUTH)
    assert r.content == b"[[[[[]]]]]" and r.headers["content-type"] == "application/json"


def test_result_total_hook(fixtures_dir: Path, client: httpx.Client) -> None:
    with NgcEmulator(
        make_models(30, fixtures_dir=fixtures_dir),
        fixtures_dir=fixtures_dir,
        result_total_hook=lambda page, n: n * 1000 + page,
    ) as emu:
        assert client.get(emu.catalog_url(0)).json()["resultTotal"] == 30_000
        assert client.get(emu.catalog_url(1)).json()["resultTotal"] == 30_001
