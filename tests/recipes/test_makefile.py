"""examples/Makefile, the targets a consuming repository copies: what ``make -n`` would run,
and the targets run with make against the NGC emulator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.recipes import shell
from tests.recipes.gha import ROOT, flagged
from tests.support.eu_setup import PROXY_PASSWORD
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, make_models
from tests.support.nimgen_runner import clean_env

MAKEFILE = ROOT / "examples" / "Makefile"
TARGETS = ("nim-metadata", "nim-metadata-check", "nim-eu-probe")

Make = Callable[..., subprocess.CompletedProcess[str]]


def make_in(directory: Path, emulator: NgcEmulator | None = None) -> Make:
    shutil.copy(MAKEFILE, directory / "Makefile")
    base = clean_env(
        VALID_KEY, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    if emulator is not None:
        base["NIMGEN_NGC_API_URL"] = emulator.url

    def make(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", *args],
            cwd=directory,
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=180,
        )

    return make


@pytest.mark.parametrize("target", TARGETS)
def test_what_make_would_run(target: str, tmp_path: Path) -> None:
    """``make -n``: the commands with the Makefile's variables expanded name only real nimgen
    commands and options, and every generate gets its EU facts."""
    make = make_in(tmp_path)
    with_list = make("-n", target, "NIM_EU_LIST=eu-probe.json")
    assert with_list.returncode == 0, with_list.stderr
    calls = shell.assert_real_nimgen_calls(with_list.stdout, f"Makefile {target}")
    assert calls
    shell.assert_generate_has_eu_source(with_list.stdout, f"Makefile {target}", frozenset())
    with_proxy = make("-n", target, NIMGEN_EU_PROXY="http://eu-proxy.example:3128")
    assert "--eu-list" not in with_proxy.stdout
    shell.assert_generate_has_eu_source(
        with_proxy.stdout, f"Makefile {target}", frozenset({"NIMGEN_EU_PROXY"})
    )


def test_makefile_runs(
    eu_emulator: NgcEmulator, us_emulator: NgcEmulator, restricted: list[str], tmp_path: Path
) -> None:
    eu_machine, repo = tmp_path / "eu", tmp_path / "repo"
    eu_machine.mkdir()
    repo.mkdir()
    probe = make_in(eu_machine, eu_emulator)("nim-eu-probe")
    assert probe.returncode == 0, probe.stderr
    shutil.copy(eu_machine / "eu-probe.json", repo / "eu-probe.json")

    make = make_in(repo, us_emulator)
    tree = repo / "config" / "nim"
    refused = make("nim-metadata")
    assert refused.returncode != 0 and "no EU source" in refused.stderr
    assert not tree.exists() and us_emulator.requests == []

    missing = make("nim-metadata-check", "NIM_EU_LIST=eu-probe.json")
    assert missing.returncode != 0 and "Error 3" in missing.stderr
    first = make("nim-metadata", "NIM_EU_LIST=eu-probe.json")
    assert first.returncode == 0, first.stderr
    assert flagged(tree) == restricted
    assert "First generation" in (repo / "nim-metadata-diff.md").read_text()
    assert make("nim-metadata-check", "NIM_EU_LIST=eu-probe.json").returncode == 0

    us_emulator.add_models(make_models(1, us_emulator.models[-1:], prefix="zz-new"))
    fetches = us_emulator.page_calls[0]
    again = make("nim-metadata", "NIM_EU_LIST=eu-probe.json")
    assert again.returncode == 0, again.stderr
    assert us_emulator.page_calls[0] == fetches + 1  # one catalog fetch
    report = (repo / "nim-metadata-diff.md").read_text()
    assert "### Added (1)" in report and "### EU restrictions (1)" in report
    assert not (repo / ".nim-before").exists()


def test_makefile_through_an_eu_proxy(
    us_emulator: NgcEmulator, eu_proxy: ForwardProxy, restricted: list[str], tmp_path: Path
) -> None:
    make = make_in(tmp_path, us_emulator)
    done = make("nim-metadata", NIMGEN_EU_PROXY=eu_proxy.url)
    assert done.returncode == 0, done.stderr
    assert flagged(tmp_path / "config" / "nim") == restricted
    # make echoes each command: the URL stays in the environment, never on a command line
    assert PROXY_PASSWORD not in done.stdout + done.stderr
