"""The fault matrix: one test per row of the README's "Reliability" table.

Each test injects a fault into the real NGC emulator, runs the installed ``nimgen``
console script against it, and checks the promise of its row: what is transient is ridden
out (every model arrives, byte for byte as in a fault-free run), what is not fails by name,
nothing is lost silently, nothing crashes. The row "Ctrl-C / SIGTERM mid-run" lives in
``test_signals.py``; the flaky-emulator run closes the file.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from nimgen.ngc.settings import ClientSettings
from nimgen.tree.layout import BASE_CONFIGMAP, TREE_FILES
from nimgen.tree.write import check_output_dir
from tests.support.fault_kit import (
    Nimgen,
    configmap_records,
    kustomize_configmap,
    model_requests,
    temp_leftovers,
)
from tests.support.ngc_emulator import REMOVE, EmulatedModel, Fault, NgcEmulator, http_date
from tests.support.nimgen_runner import tree_bytes
from tests.support.waiting import wait_until

NO_TRACEBACK = ("Traceback", "internal error")


def assert_clean_failure(run: Any, code: int = 1) -> None:
    assert run.code == code, run.stderr
    for marker in NO_TRACEBACK:
        assert marker not in run.stderr


def assert_everything_arrived(run: Any, out: Path, clean_run: dict[str, Any]) -> None:
    """All 186 models shipped, and the tree is byte for byte the fault-free one."""
    assert run.code == 0, run.stderr
    assert run.json["models"] == 186 and run.json["failed"] == []
    assert tree_bytes(out) == clean_run["tree"]


# -- 503/502/500 on the first tries of many models -----------------------------------


def test_5xx_on_first_tries_are_retried_with_jittered_backoff(
    ngc_emulator: NgcEmulator, nimgen: Nimgen, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    emu = ngc_emulator
    names = sorted(m.name for m in emu.models)
    faulted = names[::3]  # 62 models, two failed tries each
    pairs = [
        (Fault.status(503), Fault.status(502)),
        (Fault.status(500), Fault.status(503)),
        (Fault.status(502), Fault.status(500)),
    ]
    for i, name in enumerate(faulted):
        emu.fault_model(name, *pairs[i % 3])
    emu.fault_page(3, Fault.status(503))
    emu.fault_key(Fault.status(502))

    run = nimgen.generate(emu, tmp_path / "out")

    assert_everything_arrived(run, tmp_path / "out", clean_run)
    assert emu.pending_faults() == 0  # every injected fault was met
    calls = emu.model_calls
    assert {calls[n] for n in faulted} == {3}
    assert {calls[n] for n in names if n not in faulted} == {1}
    # Backoff with jitter: a wait before each retry, spread rather than in lock-step.
    gaps = []
    for name in faulted:
        first, second, _ = model_requests(emu, name)
        gaps.append(second.start_time - first.end_time)
    assert min(gaps) >= 0
    assert statistics.pstdev(gaps) > 0.02, gaps
    assert len(faulted) == 62


# -- a 429 storm, Retry-After in seconds and as an HTTP date ----------------------------


def test_429_storm_waits_as_told(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, nimgen: Nimgen, tmp_path: Path
) -> None:
    """Each throttled model tries again no sooner than it was told, whatever the load (the
    client's clock can only be late); that a Retry-After holds back every other request
    too is shown in tests/ngc/test_client.py, one request at a time, where it is exact."""
    # The storm hits the first wave: the 50 models nimgen asks for first (catalog order).
    with NgcEmulator(ngc_models, fixtures_dir=fixtures_dir, latency_by_kind={"model": 0.1}) as emu:
        names = [m.name for m in emu.models]
        in_seconds = names[:40]
        as_date = names[40:50]
        for name in in_seconds:
            emu.fault_model(name, Fault.status(429, retry_after="1"))
        # Two seconds from now, to the second: the wait is what is left of it when served.
        date = http_date(2)
        for name in as_date:
            emu.fault_model(name, Fault.status(429, retry_after=date))
        run = nimgen.generate(emu, tmp_path / "out", "--concurrency", "32")

        assert run.code == 0, run.stderr
        assert run.json["models"] == 186 and run.json["failed"] == []
        assert emu.count("model", 429) == 50 and emu.pending_faults() == 0
        for name in in_seconds:
            first, second = model_requests(emu, name)
            assert second.start_time - first.end_time >= 1.0, name
        told = (parsedate_to_datetime(date).timestamp() - time.time()) + time.monotonic()
        for name in as_date:
            first, second = model_requests(emu, name)
            assert second.start_time >= min(first.end_time + 0.5, told - 0.05), name
        assert emu.max_in_flight_by_kind["model"] <= 32
    assert run.seconds < 60


# -- connection reset / refused mid-run --------------------------------------------


def test_connection_reset_and_refused_are_retried_then_named(
    ngc_models: list[EmulatedModel],
    fixtures_dir: Path,
    nimgen: Nimgen,
    tmp_path: Path,
    clean_run: dict[str, Any],
) -> None:
    names = sorted(m.name for m in ngc_models)
    # Resets on 40 models and a catalog page once each (ridden out), and on 3 models for
    # good (named): --allow-partial shows both in one run.
    once = names[::5][:40]
    stuck = names[1:4]
    with NgcEmulator(ngc_models, fixtures_dir=fixtures_dir) as emu:
        for name in once:
            emu.fault_model(name, Fault.reset())
        for name in stuck:
            emu.fault_model_forever(name, Fault.reset())
        emu.fault_page(2, Fault.reset())
        run = nimgen.generate(emu, tmp_path / "reset", "--max-attempts", "3", "--allow-partial")
        assert_clean_failure(run, 0)
        assert emu.pending_faults() == 0
        assert run.failed_names() == set(stuck)
        for name in stuck:
            assert f"{name}: connection failed" in run.stderr
            assert emu.model_calls[name] == 3
        assert "gave up after 3 attempts" in run.stderr
        shipped = configmap_records(tmp_path / "reset")
        assert shipped == {k: v for k, v in clean_run["records"].items() if k not in stuck}

    # The server goes away mid-run and comes back on the same port: refused, then fine.
    models = ngc_models[:60]
    slow = NgcEmulator(models, fixtures_dir=fixtures_dir, latency_by_kind={"model": 0.05}).start()
    port = slow.port
    args = nimgen.generate_args(slow, tmp_path / "refused", "--max-attempts", "10")
    proc = nimgen.popen(args)
    try:
        wait_until(lambda: slow.count("model") >= 10)
        slow.stop()
        time.sleep(0.3)  # connections refused meanwhile
        back = NgcEmulator(models, fixtures_dir=fixtures_dir, port=port).start()
        try:
            _, stderr = proc.communicate(timeout=60)
        finally:
            back.stop()
    finally:
        proc.kill()
        slow.stop()
    assert proc.returncode == 0, stderr
    assert back.count("model") > 0  # the rest came after the outage
    assert set(configmap_records(tmp_path / "refused")) == {m.name for m in models}


# -- a model that hangs ---------------------------------------------------------------


def test_hanging_model_times_out_is_retried_then_named(
    ngc_emulator: NgcEmulator, nimgen: Nimgen, tmp_path: Path
) -> None:
    emu = ngc_emulator
    emu.fault_model_forever("llama-3.1-8b-instruct", Fault.hang(60))
    run = nimgen.generate(emu, tmp_path / "out", "--request-timeout", "1", "--max-attempts", "2")
    assert_clean_failure(run)
    assert run.failed_names() == {"llama-3.1-8b-instruct"}
    assert "no answer within --request-timeout 1s (gave up after 2 attempts)" in run.stderr
    assert emu.model_calls["llama-3.1-8b-instruct"] == 2
    # Two 1 s attempts and a short backoff take about 3 s; "well within a minute" is the
    # promise, and a loaded CI machine adds process start-up, so the bound is generous.
    assert run.seconds < 30, run.seconds
    # At the defaults (8 attempts) the bound is 8 x 1 s + 0.5 + 1 + 2 + 4 x 4 s = 27.5 s.
    defaults = ClientSettings(request_timeout=1)
    waits = sum(
        min(defaults.backoff_cap, defaults.backoff_first * 2 ** (n - 1))
        for n in range(1, defaults.max_attempts)
    )
    assert defaults.max_attempts * 1 + waits < 30


# -- a run that would outlast --deadline ----------------------------------------------


def test_deadline_stops_the_run_and_names_the_unfinished(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, nimgen: Nimgen, tmp_path: Path
) -> None:
    hung = {"llama-3.1-8b-instruct", "mistral-7b-instruct-v0.3", "nv-embedqa-e5-v5"}
    with (
        NgcEmulator(ngc_models, fixtures_dir=fixtures_dir) as models_hang,
        NgcEmulator(ngc_models, fixtures_dir=fixtures_dir) as catalog_hangs,
    ):
        for name in hung:
            models_hang.fault_model_forever(name, Fault.hang(60))
        catalog_hangs.fault_page_forever(0, Fault.hang(60))
        slow = ("--request-timeout", "30")
        run, cut_early = nimgen.run_many(
            [
                nimgen.generate_args(models_hang, tmp_path / "a", *slow, "--deadline", "4"),
                nimgen.generate_args(catalog_hangs, tmp_path / "b", *slow, "--deadline", "1"),
            ]
        )
    assert_clean_failure(run)
    assert run.seconds < 4 + 15  # cut at the deadline, long before the 30 s request timeout
    assert "did not finish within --deadline 4s: " in run.stderr
    # The hung models, named; on a loaded machine others may be unfinished too, each named.
    unfinished = {line.partition(": ")[0] for line in run.json["errorDetails"]}
    assert hung <= unfinished
    assert all(line.endswith(": unfinished at the deadline") for line in run.json["errorDetails"])
    assert not (tmp_path / "a").exists()
    # Cut before the catalog could even be read: said so, nothing named.
    assert_clean_failure(cut_early)
    assert "the NGC catalog could not be read in time" in cut_early.stderr
    assert not (tmp_path / "b").exists()


# -- bodies that are not JSON ---------------------------------------------------------


BAD_BODIES = {
    "truncated JSON": Fault.garbage(),
    "HTML error page": Fault.html(),
    "HTML with 502": Fault.html(502),
    "JSON as text/plain": Fault.status(200, body=b"{}", content_type="text/plain"),
    "empty body": Fault.status(200, body=b"", content_type="application/json"),
}


def test_bad_bodies_are_failed_attempts_with_a_clear_reason(
    ngc_emulator: NgcEmulator, nimgen: Nimgen, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    emu = ngc_emulator
    names = sorted(m.name for m in emu.models)
    faults = list(BAD_BODIES.values())
    forever = dict(zip(BAD_BODIES, names[:5], strict=True))
    for kind, name in forever.items():  # on every try: named with the reason
        emu.fault_model_forever(name, BAD_BODIES[kind])
    for i, name in enumerate(names[5:105]):  # once: ridden out
        emu.fault_model(name, faults[i % len(faults)])
    emu.fault_page(0, Fault.html())
    emu.fault_page(4, Fault.garbage())

    run = nimgen.generate(emu, tmp_path / "out", "--max-attempts", "3", "--allow-partial")
    assert_clean_failure(run, 0)
    assert emu.pending_faults() == 0
    reasons = run.failures()
    assert set(reasons) == set(forever.values())
    assert "truncated or invalid JSON" in reasons[forever["truncated JSON"]]
    assert "non-JSON body (text/html)" in reasons[forever["HTML error page"]]
    assert "HTTP 502" in reasons[forever["HTML with 502"]]
    assert "non-JSON body (text/plain)" in reasons[forever["JSON as text/plain"]]
    assert "truncated or invalid JSON" in reasons[forever["empty body"]]
    assert all("gave up after 3 attempts" in r for r in reasons.values())
    shipped = configmap_records(tmp_path / "out")
    assert shipped == {k: v for k, v in clean_run["records"].items() if k not in reasons}


# -- fields missing or of the wrong type ------------------------------------------------


def test_wrong_fields_fail_that_model_by_name(
    ngc_emulator: NgcEmulator, nimgen: Nimgen, tmp_path: Path
) -> None:
    emu = ngc_emulator
    names = [m.name for m in emu.models]  # catalog order: page 7 holds the last 11
    per_model = {
        names[0]: Fault.wrong_fields(tags="1.0.0"),
        names[1]: Fault.wrong_fields(latestTag=REMOVE),
        names[2]: Fault.wrong_fields(shortDescription=42),
        names[3]: Fault.wrong_fields(namespace=None),
        names[4]: Fault.wrong_fields(tags=[]),
        names[5]: Fault.wrong_fields(latestTag="9.9.9-not-a-tag"),
    }
    for name, fault in per_model.items():
        emu.fault_model_forever(name, fault)
    emu.fault_page_forever(7, Fault.wrong_resource_fields(dateModified=12345))
    broken = set(per_model) | set(names[175:])
    assert len(broken) == 17

    strict, partial = nimgen.run_many(
        [
            nimgen.generate_args(emu, tmp_path / "strict"),
            nimgen.generate_args(emu, tmp_path / "partial", "--allow-partial"),
        ]
    )
    assert_clean_failure(strict)
    assert strict.failed_names() == broken
    assert "17 model(s) failed; nothing was written" in strict.stderr
    for name in per_model:
        assert emu.model_calls[name] == 2  # once per run: a wrong answer is final
    assert not (tmp_path / "strict").exists()
    reasons = strict.failures()
    assert "answer failed validation: tags" in reasons[names[0]]
    assert "latestTag" in reasons[names[1]]
    assert "is not among the model's tags" in reasons[names[5]]
    assert "catalog entry: dateModified" in reasons[names[180]]

    assert partial.code == 0, partial.stderr
    assert partial.json["models"] == 186 - 17
    assert partial.failed_names() == broken
    assert "shipping without 17 failed model(s) (--allow-partial)" in partial.stderr
    shipped = configmap_records(tmp_path / "partial")
    assert not broken & set(shipped) and len(shipped) == 169


# -- pagination drift -------------------------------------------------------------------


def test_pagination_drift_gives_a_whole_catalog_or_a_clear_failure(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, nimgen: Nimgen, tmp_path: Path
) -> None:
    models = ngc_models[:60]  # 10 a page: pages 0..5
    names = {m.name for m in models}

    def emulator(**knobs: Any) -> NgcEmulator:
        return NgcEmulator(models, fixtures_dir=fixtures_dir, page_size_cap=10, **knobs)

    # resultPageTotal changing between pages: page 0 says 3 pages (of 6), page 2 says 7.
    changing = emulator(page_total_hook=lambda page, n: {0: n - 3, 2: n + 1}.get(page, n))
    duplicates = emulator(duplicate_across_pages=True)
    empty_once = emulator()  # page 3 comes back empty the first time only
    calls: Counter[int] = Counter()

    def flicker(page: int, pages: int) -> int:
        calls[page] += 1
        if page == 3:
            (empty_once.empty_pages.add if calls[page] == 1 else empty_once.empty_pages.discard)(3)
        return pages

    empty_once.page_total_hook = flicker
    empty = emulator(empty_pages={3})  # page 3 stays empty
    short = emulator(page_total_hook=lambda page, n: n - 3)  # too few pages, always
    emus = [changing, duplicates, empty_once, empty, short]
    for emu in emus:
        emu.start()
    try:
        runs = nimgen.run_many(
            [nimgen.generate_args(emu, tmp_path / str(i)) for i, emu in enumerate(emus)]
        )
    finally:
        for emu in emus:
            emu.stop()
    for i in (1, 2):  # a consistent, de-duplicated, whole catalog
        assert runs[i].code == 0, runs[i].stderr
        assert set(configmap_records(tmp_path / str(i))) == names
        assert runs[i].json["discovered"] == 60
    assert empty_once.page_calls[3] == 2

    # ... or a clear failure, never a catalog short by a page: totals that disagree at once,
    # a page that ends the catalog before its totals do after reading on.
    says = {
        0: "resultTotal 60 at 10 a page makes 6 page(s), but resultPageTotal says 3",
        3: "after page 3 ended it",
        4: "resultTotal 60 at 10 a page makes 6 page(s), but resultPageTotal says 3",
    }
    for i, message in says.items():
        assert_clean_failure(runs[i])
        assert message in runs[i].stderr, runs[i].stderr
        assert not (tmp_path / str(i)).exists()
    assert set(changing.page_calls) == {0}  # refused on page 0, before any other request
    assert empty.page_calls[3] == 2  # read again before giving up


# -- a 50 MB answer ---------------------------------------------------------------------


def test_huge_answer_is_refused_and_memory_stays_bounded(
    ngc_emulator: NgcEmulator, nimgen: Nimgen, tmp_path: Path
) -> None:
    emu = ngc_emulator
    declared = "llama-3.1-8b-instruct"
    streamed = "nv-embedqa-e5-v5"
    emu.fault_model_forever(declared, Fault.huge(50 * 1024 * 1024))
    emu.fault_model_forever(streamed, Fault.huge(50 * 1024 * 1024, declare_length=False))
    others = ("--exclude", declared, "--exclude", streamed)
    baseline, run = nimgen.run_many(
        [
            nimgen.generate_args(emu, tmp_path / "baseline", *others),
            nimgen.generate_args(emu, tmp_path / "out"),
        ]
    )
    assert baseline.code == 0, baseline.stderr
    assert_clean_failure(run)
    reasons = run.failures()
    assert set(reasons) == {declared, streamed}
    assert "answer of 52428800 bytes refused (limit 16777216 bytes)" in reasons[declared]
    assert "answer larger than 16777216 bytes refused" in reasons[streamed]
    assert emu.model_calls[declared] == emu.model_calls[streamed] == 1  # final, not retried
    # Bounded: at most the 16 MiB cap above a normal run, far from the 50 MB offered.
    grown_mib = (run.max_rss_kib - baseline.max_rss_kib) / 1024
    assert grown_mib < 32, (baseline.max_rss_kib, run.max_rss_kib)


# -- names that are not ConfigMap keys -----------------------------------------------------


BAD_NAMES = ("a/b", "../x", "has space", "x" * 300)


def test_names_that_are_not_configmap_keys_are_refused_by_name(
    ngc_emulator: NgcEmulator, nimgen: Nimgen, tmp_path: Path
) -> None:
    emu = ngc_emulator
    template = emu.get_model("llama-3.1-8b-instruct")
    longest_valid = "y" * 253
    emu.add_models(
        dataclasses.replace(template, name=name, display_name=name)
        for name in (*BAD_NAMES, longest_valid)
    )
    # A per-model answer whose name is no key, for a model the catalog names well.
    emu.fault_model_forever("nv-embedqa-e5-v5", Fault.wrong_fields(name="meta/llama3"))
    refused = {*BAD_NAMES, "nv-embedqa-e5-v5"}

    strict, partial = nimgen.run_many(
        [
            nimgen.generate_args(emu, tmp_path / "strict"),
            nimgen.generate_args(emu, tmp_path / "partial", "--allow-partial"),
        ]
    )
    assert_clean_failure(strict)
    assert strict.failed_names() == refused
    reasons = strict.failures()
    assert "'a/b' is not a valid ConfigMap key" in reasons["a/b"]
    assert "'../x' is not a valid ConfigMap key" in reasons["../x"]
    assert "'has space' is not a valid ConfigMap key" in reasons["has space"]
    assert "300 characters long" in reasons["x" * 300]
    assert "'meta/llama3' is not a valid ConfigMap key" in reasons["nv-embedqa-e5-v5"]
    for name in BAD_NAMES:
        assert emu.model_calls[name] == 0  # refused from the catalog, before any request
    assert not (tmp_path / "strict").exists()

    assert partial.code == 0, partial.stderr
    assert partial.failed_names() == refused
    for name in ("a/b", "../x", "has space"):
        assert f"  {name}: " in partial.stderr
    shipped = configmap_records(tmp_path / "partial")
    assert len(shipped) == 186 - 1 + 1 == partial.json["models"]
    assert longest_valid in shipped and not refused & set(shipped)
    assert kustomize_configmap(tmp_path / "partial" / "overlays" / "odh").keys() == shipped.keys()


# -- names YAML would read as other types ---------------------------------------------------


YAML_BOOLS_AND_NULLS = "yes no on off y n true False null NULL"
YAML_NUMBERS = "1e3 007 0x1F 0o17 1_000 1.0 -1 .inf -.inf .nan 1e-3 12."
YAML_TYPED_NAMES = (*YAML_BOOLS_AND_NULLS.split(), *YAML_NUMBERS.split())


def test_yaml_typed_names_ship_as_those_exact_strings(
    ngc_emulator: NgcEmulator, nimgen: Nimgen, tmp_path: Path
) -> None:
    emu = ngc_emulator
    template = emu.get_model("llama-3.1-8b-instruct")
    emu.set_models(
        dataclasses.replace(template, name=name, display_name=name) for name in YAML_TYPED_NAMES
    )
    run = nimgen.generate(emu, tmp_path / "out")
    assert run.code == 0, run.stderr
    expected = set(YAML_TYPED_NAMES)
    for records in (
        configmap_records(tmp_path / "out"),
        kustomize_configmap(tmp_path / "out" / "base"),
        kustomize_configmap(tmp_path / "out" / "overlays" / "rhoai"),
    ):
        assert set(records) == expected
        for key, record in records.items():
            assert record["name"] == key and record["displayName"] == key


# -- tags and descriptions with quotes, newlines, ': ', '#', unicode ---------------------------


HOSTILE_TEXT = (
    'say "hi"',
    "it's",
    "line one\nline two\n",
    "key: value",
    "# not a comment",
    "ends with #",
    "tab\there",
    "  leading and trailing  ",
    "🚀 ünïcødé 中文 עברית",
    "line\u2028separator",
    "nul\x00byte",
    "|\n>\n- item\n? q\n",
    "&anchor *alias !tag %directive @ `",
    "---\n...\n",
    "{json: [1, 2]}",
    "\\backslash\\",
)


def test_hostile_text_is_rendered_safely_and_reads_back_equal(
    ngc_emulator: NgcEmulator, nimgen: Nimgen, tmp_path: Path
) -> None:
    emu = ngc_emulator
    template = emu.get_model("llama-3.1-8b-instruct")
    models = []
    for i, text in enumerate(HOSTILE_TEXT):
        # Tags follow the OCI grammar or fail their model (tests/test_hostile_inputs.py).
        tags = (f"1.{i}.0", "latest")
        models.append(
            dataclasses.replace(
                template,
                name=f"hostile-{i:02d}",
                display_name=text,
                short_description=f"{text}\n\n{text}",
                tags=tags,
                latest_tag=tags[0],
            )
        )
    emu.set_models(models)
    run = nimgen.generate(emu, tmp_path / "out")
    assert run.code == 0, run.stderr
    for records in (
        configmap_records(tmp_path / "out"),
        kustomize_configmap(tmp_path / "out" / "overlays" / "odh"),
    ):
        assert len(records) == len(models)
        for model in models:
            record = records[model.name]
            assert record["displayName"] == model.display_name
            assert record["shortDescription"] == model.short_description
            assert record["latestTag"] == model.latest_tag
            assert sorted(record["tags"]) == sorted(set(model.tags))
    text = (tmp_path / "out" / BASE_CONFIGMAP).read_bytes()
    assert text.isascii()  # unicode travels as JSON escapes: nothing for YAML to misread


# -- --output at a file, an unwritable or a foreign directory --------------------------------


def test_bad_output_targets_exit_2_before_any_request_touching_nothing(
    ngc_emulator: NgcEmulator, nimgen: Nimgen, tmp_path: Path
) -> None:
    emu = ngc_emulator
    a_file = tmp_path / "file.txt"
    a_file.write_text("precious\n")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.md").write_text("mine\n")
    (foreign / "base").mkdir()
    (foreign / "base" / "kustomization.yaml").write_text("# hand-written\n")
    before = {"file": a_file.read_bytes(), "foreign": tree_bytes(foreign)}
    unwritable = "/proc/nimgen-fault-test" if Path("/proc").is_dir() else "/sys/nimgen-fault-test"

    cases = [
        (["generate", "--output", str(a_file)], "is a file, not a directory"),
        (["generate", "--output", str(a_file / "tree")], f"{a_file} is a file, not a directory"),
        (["generate", "--output", f"{unwritable}/tree"], "cannot write to"),
        (["generate", "--output", str(foreign)], "holds files nimgen did not write (notes.md"),
        (["generate", "--output", "/proc"], "is a mount point"),
        (["fetch", "--output", str(tmp_path)], "is a directory; give a file name"),
        (["fetch", "--output", str(a_file / "snap.json")], "is a file, not a directory"),
        (["fetch", "--output", f"{unwritable}/snap.json"], "cannot write to"),
    ]
    runs = nimgen.run_many([[*args, "--ngc-api-url", emu.url] for args, _ in cases])
    for (args, message), run in zip(cases, runs, strict=True):
        assert run.code == 2, (args, run.stderr)
        assert message in run.stderr, (args, run.stderr)
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "Traceback" not in run.stderr
    assert emu.requests == []  # refused before any request
    assert a_file.read_bytes() == before["file"]
    assert tree_bytes(foreign) == before["foreign"]
    assert temp_leftovers(tmp_path) == []
    assert not Path(unwritable).exists()
    # A run that only compares (generate --check) needs no write access.
    check_output_dir(Path(unwritable) / "tree", TREE_FILES, writable=False)


# -- a flaky emulator: 20 % 503, occasional 429 --------------------------------------------


def test_flaky_emulator_still_ships_every_model(
    ngc_models: list[EmulatedModel],
    fixtures_dir: Path,
    nimgen: Nimgen,
    tmp_path: Path,
    clean_run: dict[str, Any],
) -> None:
    seed = int(os.environ.get("NIMGEN_FLAKY_SEED", "20260219"))
    with NgcEmulator(
        ngc_models, fixtures_dir=fixtures_dir, flaky_rate=0.2, flaky_429_rate=0.03, seed=seed
    ) as emu:
        run = nimgen.generate(emu, tmp_path / "out", "--max-attempts", "10")
        assert_everything_arrived(run, tmp_path / "out", clean_run)
        assert emu.count("model", 503) > 20 and emu.count("model", 429) > 0
    assert emu.count("model", 200) == 186


# -- lose nothing, even to a bug ----------------------------------------------------------


def test_a_bug_while_handling_one_model_fails_that_model_by_name(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process: an unexpected exception for one model is a named failure, not a gap."""
    import asyncio

    from nimgen.apikey import ApiKey
    from nimgen.collection import NullProgress
    from nimgen.ngc import jobs
    from nimgen.ngc.client import NgcClient
    from nimgen.ngc.collect import collect_catalog
    from nimgen.ngc.jobs import Scope
    from tests.support.ngc_emulator import VALID_KEY

    real = jobs.record_from_answer
    victim = ngc_models[7].name

    def buggy(body: Any, entry: Any) -> Any:
        if entry.name == victim:
            raise KeyError("surprise")
        return real(body, entry)

    monkeypatch.setattr(jobs, "record_from_answer", buggy)

    async def collect(url: str) -> Any:
        settings = ClientSettings(api_url=url, max_attempts=2, backoff_first=0.01)
        async with NgcClient(settings, ApiKey(VALID_KEY)) as client:
            return await collect_catalog(client, Scope(), NullProgress())

    with NgcEmulator(ngc_models[:30], fixtures_dir=fixtures_dir) as emu:
        collection = asyncio.run(collect(emu.url))
    assert [(f.name, f.reason) for f in collection.failures] == [
        (victim, "internal error: KeyError: 'surprise'")
    ]
    assert len(collection.models) == 29
