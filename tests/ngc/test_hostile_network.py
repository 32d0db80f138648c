"""Hostile answers from the network, through the installed ``nimgen`` as a user runs it.

Compressed answers (a decompression bomb, 3,000 layers), a catalog that contradicts itself
(a billion pages, a growing count, absurd totals), answers too big to ship, a server
copying the request's headers (the key) into its answers, JSON nested past any parser's
stack, proxies set in the environment, and an API URL that is not an origin. Runs that
could explode are made under an address-space limit (``RLIMIT_AS``) and a timeout; their
peak RSS is the child's own (``wait4``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nimgen.ngc.collect import MAX_CATALOG_PAGES
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, Fault, NgcEmulator, make_models
from tests.support.nimgen_runner import GIB, Bounded, clean_env, run_bounded, tree_bytes

FAST = ("--max-attempts", "3", "--request-timeout", "10", "--no-eu", "--json")
# Pieces of the key any echo would contain; none may appear in anything nimgen writes.
KEY_PIECES = [VALID_KEY, VALID_KEY.upper(), VALID_KEY.lower(), VALID_KEY[6:18]]


def generate(emu: NgcEmulator, out: Path, *extra: str, **kw: Any) -> Bounded:
    args = ["generate", "--ngc-api-url", emu.url, "--output", str(out), *FAST, *extra]
    return run_bounded(args, **kw)


def assert_clean(run: Bounded, code: int) -> None:
    assert run.code == code, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr


# -- decompression bombs ---------------------------------------------------------------


def test_compressed_answers_are_refused_by_name_in_bounded_memory(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, tmp_path: Path
) -> None:
    """nimgen asks for uncompressed answers. 64 models answer 1 MB of gzip that inflates to
    1 GiB (8 of them gzip twice), one a Content-Encoding listing gzip 3,000 times. Before:
    each bomb inflated a whole 64 KiB network chunk at once, 3.6 GB peak (a MemoryError per
    model under a 1 GiB limit); the 3,000 layers were a RecursionError of the whole run."""
    with NgcEmulator(ngc_models, fixtures_dir=fixtures_dir) as emu:
        names = sorted(m.name for m in emu.models)
        bombed = names[::2][:64]
        layered = names[1]
        for index, name in enumerate(bombed):
            emu.fault_model_forever(name, Fault.bomb(GIB, layers=2 if index < 8 else 1))
        emu.fault_model_forever(layered, Fault.encoded(",".join(["gzip"] * 3000)))  # 15 KB
        refused = [*bombed, layered]
        clean = generate(emu, tmp_path / "clean", *(f"--exclude={n}" for n in refused))
        run = generate(emu, tmp_path / "out", "--request-timeout", "60")  # a loaded machine
        calls = emu.model_calls
    assert_clean(clean, 0)
    assert_clean(run, 1)
    failures = dict(line.split(": ", 1) for line in _details(run))
    assert set(failures) == set(refused)
    assert all("it is compressed (Content-Encoding)" in r for r in failures.values())
    assert {calls[name] for name in refused} == {1}  # final: another try meets the same
    assert run.max_rss_mib < clean.max_rss_mib + 48, (clean.max_rss_mib, run.max_rss_mib)
    assert not (tmp_path / "out").exists()


def _details(run: Bounded) -> list[str]:
    import json

    document = json.loads(run.stdout)
    return list(document.get("errorDetails", []))


# -- catalogs that contradict themselves ------------------------------------------------


CONTRADICTIONS: dict[str, tuple[dict[str, Any], str]] = {
    # Before: believed as far as resultTotal needed (9 pages read), exit 0.
    "a billion pages": ({"page_total_hook": lambda p, n: 10**9}, "more than the 1000 pages"),
    # Before: followed one page at a time (1,996 requests and 489 s in the report).
    "a growing catalog": (
        {"result_total_hook": lambda p, n: n + 25 * p, "page_total_hook": lambda p, n: n + p},
        "the catalog changed while it was read",
    ),
    # Before: an internal OverflowError.
    "10**400 resources": ({"result_total_hook": lambda p, n: 10**400}, "a 401-digit number"),
    # Before: 3 pages read and 150 of 186 models shipped, exit 0.
    "a low resultTotal": ({"result_total_hook": lambda p, n: 60}, "contradicts itself"),
}


@pytest.mark.parametrize("case", list(CONTRADICTIONS))
def test_a_catalog_that_contradicts_itself_fails_by_name_at_once(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, tmp_path: Path, case: str
) -> None:
    hooks, says = CONTRADICTIONS[case]
    with NgcEmulator(ngc_models, fixtures_dir=fixtures_dir, **hooks) as emu:
        run = generate(emu, tmp_path / "out")
        assert emu.count("catalog") <= 1 + 32  # page 0, and at most a window after it
    assert_clean(run, 1)
    assert says in run.stderr
    assert run.seconds < 30 and run.max_rss_mib < 150
    assert not (tmp_path / "out").exists()


@pytest.fixture
def thousand_slow_pages(fixtures_dir: Path) -> Iterator[NgcEmulator]:
    """A catalog of 1000 pages of one model each (all nimgen reads), each page answered
    after 200 ms: the run takes longer than a few seconds whatever the machine."""
    models = make_models(MAX_CATALOG_PAGES, fixtures_dir=fixtures_dir)
    knobs: dict[str, Any] = {"page_size_cap": 1, "latency_by_kind": {"catalog": 0.2}}
    with NgcEmulator(models, fixtures_dir=fixtures_dir, **knobs) as emu:
        yield emu


def test_deadline_stops_a_run_of_too_many_pages(
    thousand_slow_pages: NgcEmulator, tmp_path: Path
) -> None:
    run = generate(thousand_slow_pages, tmp_path / "out", "--deadline", "2")
    assert_clean(run, 1)
    assert "did not finish within --deadline 2s" in run.stderr
    assert run.seconds < 2 + 15  # start-up, then cut at the deadline (not after 6 s of pages)
    assert run.max_rss_mib < 150
    assert thousand_slow_pages.max_in_flight_by_kind["catalog"] <= 32


def test_sigterm_stops_a_run_of_too_many_pages(
    thousand_slow_pages: NgcEmulator, tmp_path: Path
) -> None:
    run = generate(
        thousand_slow_pages,
        tmp_path / "out",
        signal_when=lambda: thousand_slow_pages.count("catalog") >= 40,
        timeout=10,  # from the signal on
    )
    assert run.code == 143, run.stderr
    assert "interrupted by SIGTERM" in run.stderr and "Traceback" not in run.stderr
    assert run.seconds < 5
    assert not (tmp_path / "out").exists()


# -- answers too big to ship ---------------------------------------------------------------


def test_answers_too_big_to_ship_fail_by_name_in_bounded_memory(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, tmp_path: Path
) -> None:
    """40 answers of 100,000 tags, each a record no ConfigMap can hold. Before: every record
    was kept until the ConfigMap was rendered (186 such answers took 1.5 GB and 3 min 50 s)
    and the error named no model."""
    tags = tuple(f"1.0.{i}" for i in range(100_000))
    big = [dataclasses.replace(m, tags=tags, latest_tag=tags[0]) for m in ngc_models[:40]]
    with NgcEmulator(big, fixtures_dir=fixtures_dir) as emu:
        run = generate(emu, tmp_path / "out", timeout=180)
    assert_clean(run, 1)
    failures = dict(line.split(": ", 1) for line in _details(run))
    assert set(failures) == {m.name for m in big}
    assert all("its record alone makes a ConfigMap of" in r for r in failures.values())
    assert run.seconds <= 60 and run.max_rss_mib <= 300, (run.seconds, run.max_rss_mib)
    assert not (tmp_path / "out").exists()


def test_a_run_has_a_deadline_by_default() -> None:
    """Before: none, so a server that answers forever kept a run going for as long."""
    run = run_bounded(["generate", "--help"], env=clean_env(COLUMNS="200"))
    text = " ".join(run.stdout.split())
    assert re.search(r"--deadline .*?\[default: 900", text), text


# -- a server that echoes the request's headers --------------------------------------------


def test_an_answer_carrying_the_key_is_refused_and_never_written(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, tmp_path: Path
) -> None:
    """Before: the key went into the ConfigMap (shortDescription) and the snapshot."""
    echoes = {
        "shortDescription": "verbatim",
        "displayName": "upper",
        "updatedDate": "piece",
        "namespace": "escaped",
    }
    with NgcEmulator(ngc_models, fixtures_dir=fixtures_dir) as emu:
        names = sorted(m.name for m in emu.models)
        echoing = dict(zip(names[:4], echoes.items(), strict=True))
        for name, (field, style) in echoing.items():
            emu.fault_model_forever(name, Fault.echo(field, style=style))  # type: ignore[arg-type]
        strict = generate(emu, tmp_path / "strict")
        partial = generate(emu, tmp_path / "partial", "--allow-partial")
        fetch = ["fetch", "--ngc-api-url", emu.url, "--output", str(tmp_path / "s.json")]
        snapshot = run_bounded([*fetch, "--allow-partial", "--json"])
    assert_clean(strict, 1)
    failures = dict(line.split(": ", 1) for line in _details(strict))
    assert set(failures) == set(echoing)
    assert all("contains the API key" in reason for reason in failures.values())
    assert not (tmp_path / "strict").exists()
    assert_clean(partial, 0)
    assert_clean(snapshot, 0)
    written = tree_bytes(tmp_path / "partial")
    written["s.json"] = (tmp_path / "s.json").read_bytes()
    for run in (strict, partial, snapshot):
        written["output"] = (run.stdout + run.stderr).encode()
        for name, content in written.items():
            text = content.decode("utf-8", "replace")
            leaked = [piece for piece in KEY_PIECES if piece in text]
            assert leaked == [], (name, leaked)


# -- deeply nested JSON ---------------------------------------------------------------


def test_deeply_nested_answers_fail_cleanly(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, tmp_path: Path
) -> None:
    """Before: RecursionError, an "internal error" of the whole run."""
    with (
        NgcEmulator(ngc_models[:40], fixtures_dir=fixtures_dir) as models,
        NgcEmulator(ngc_models[:40], fixtures_dir=fixtures_dir) as pages,
    ):
        victim = sorted(m.name for m in models.models)[3]
        models.fault_model_forever(victim, Fault.deeply_nested(200_000))
        pages.fault_page_forever(1, Fault.deeply_nested(200_000))
        model_run = generate(models, tmp_path / "a")
        page_run = generate(pages, tmp_path / "b")
        assert models.model_calls[victim] == 1
    assert_clean(model_run, 1)
    assert _details(model_run) == [f"{victim}: answer nested too deeply to be read: refused"]
    assert_clean(page_run, 1)
    assert "could not read catalog page 1: answer nested too deeply" in page_run.stderr


# -- proxies ------------------------------------------------------------------------------


def test_proxies_from_the_environment_are_ignored_and_proxy_is_used(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, tmp_path: Path
) -> None:
    """Before: HTTP(S)_PROXY/ALL_PROXY received every request, the key in plain text for
    an http:// URL."""
    with (
        NgcEmulator(ngc_models[:20], fixtures_dir=fixtures_dir) as emu,
        ForwardProxy() as from_env,
        ForwardProxy() as given,
    ):
        names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
        env = clean_env(VALID_KEY, **{n: from_env.url for n in names})
        env.update({n.lower(): from_env.url for n in names})
        ignored = generate(emu, tmp_path / "a", env=env)
        direct = {r.client_address for r in emu.requests}
        emu.reset_counters()
        used = generate(emu, tmp_path / "b", "--proxy", given.url, env=env)
        proxied = {r.client_address for r in emu.requests}
    assert_clean(ignored, 0)
    assert from_env.requests == 0 and from_env.connects == 0
    assert direct == {"127.0.0.1"}
    assert_clean(used, 0)
    assert given.requests == 21 + 1 and proxied == {"127.0.0.2"}  # pages, key and models
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


# -- --ngc-api-url ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["/v2", "/?page=1", "#top", ":99999", ":0"])
def test_an_api_url_that_is_not_an_origin_is_bad_input(
    ngc_emulator: NgcEmulator, tmp_path: Path, suffix: str
) -> None:
    """Before: a path or query sent every request astray ("NGC rejected the API key", exit
    4); a bad port was an internal error."""
    url = ngc_emulator.url + suffix
    run = run_bounded(["verify-key", "--ngc-api-url", url])
    assert run.code == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nimgen: error: --ngc-api-url"), run.stderr
    assert ngc_emulator.requests == []
