"""``nimgen.commands.live``: what a live run imports while its first answers travel."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from nimgen.commands import live
from nimgen.commands.common import ModelChoice, NgcAccess
from nimgen.commands.fetch import FetchRequest, fetch
from nimgen.commands.live import COLLECT_MODULES, SUMMARY_MODULES, LiveRequest, importer
from nimgen.eu import EuRequest
from nimgen.report.console import Console
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, make_models


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    imported: list[str] = []

    def record(name: str) -> object:
        imported.append(name)
        if name == "nimgen.no_such_module":
            raise ImportError(name)
        return None

    monkeypatch.setattr(importlib, "import_module", record)
    return imported


def test_the_summary_modules_are_left_out_under_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    imported = _recording(monkeypatch)
    importer(("nimgen.no_such_module", "json"), Console(quiet=True))()
    # A module that fails to import is skipped: the import where it is used says why.
    assert imported == [*COLLECT_MODULES, "nimgen.no_such_module", "json"]
    del imported[:]
    importer(("json",), Console(quiet=False))()
    assert imported == [*COLLECT_MODULES, "json", *SUMMARY_MODULES]


def test_fetch_imports_while_the_first_answers_travel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real = live.importer

    def watching(modules: tuple[str, ...], log: live.RunLog) -> object:
        load = real(modules, log)

        def counted() -> None:
            seen.append(len(emu.requests))  # answers the emulator had finished by then
            load()

        return counted

    monkeypatch.setattr("nimgen.commands.fetch.importer", watching)
    monkeypatch.setenv("NGC_API_KEY", VALID_KEY)
    # Answers take a second: the imports run (once) long before any of them is back.
    with NgcEmulator(make_models(3), latency=1.0) as emu:
        access = NgcAccess(api_url=emu.url)
        request = FetchRequest(
            LiveRequest(access, ModelChoice(), EuRequest()), output=tmp_path / "s.json"
        )
        result = fetch(request, Console(quiet=True))
    assert result.collected.models == 3
    assert seen == [0]


# Runs nimgen in a fresh interpreter and notes whether pydantic (about 0.1 s of CPU to
# import) was first imported before or after the run opened its first connection.
_WATCH_PYDANTIC = """
import asyncio.base_events, importlib.abc, sys

state = {"connected": False, "pydantic": None}
real = asyncio.base_events.BaseEventLoop.create_connection


async def create_connection(self, *args, **kwargs):
    state["connected"] = True
    return await real(self, *args, **kwargs)


asyncio.base_events.BaseEventLoop.create_connection = create_connection


class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "pydantic" and state["pydantic"] is None:
            state["pydantic"] = "after" if state["connected"] else "before"
        return None


sys.meta_path.insert(0, Watch())
sys.argv = ["nimgen", *sys.argv[1:]]
from nimgen.cli import main

try:
    main()
finally:
    print("pydantic:", state["pydantic"], file=sys.stderr)
"""


def test_a_live_run_never_loads_pydantic(tmp_path: Path) -> None:
    """Neither into a new tree, nor over the tree it wrote (whose ConfigMap it reads), nor
    with EU probes through a proxy."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NGC_API_KEY": VALID_KEY}
    with NgcEmulator(make_models(3), latency=0.2) as emu:
        argv = ["generate", "--ngc-api-url", emu.url, "--output", str(tmp_path / "out")]
        with ForwardProxy() as proxy:
            eu_proxy = ("--eu-proxy", proxy.url)
            for eu in (("--no-eu",), ("--no-eu",), eu_proxy):  # a new tree, over it, EU probes
                done = subprocess.run(
                    [sys.executable, "-c", _WATCH_PYDANTIC, *argv, *eu, "-q"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert done.returncode == 0, done.stderr
                assert "pydantic: None" in done.stderr
