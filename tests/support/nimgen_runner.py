"""Run the installed ``nimgen`` console script as a user would, and capture everything;
``run_bounded`` also under an address-space limit and a timeout, with its own peak RSS."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import own_peak_rss
from tests.support.ngc_emulator import VALID_KEY

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
_EU_OPTIONS = ("--eu-list", "--eu-proxy", "--no-eu")
GIB = 1 << 30


@dataclass(frozen=True)
class NimgenResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def nimgen_executable() -> str:
    beside = Path(sys.executable).with_name("nimgen")
    found = str(beside) if beside.exists() else shutil.which("nimgen")
    if found is None:
        raise RuntimeError("the nimgen console script is not installed (pip install -e .)")
    return found


def clean_env(key: str | None = None, **extra: str) -> dict[str, str]:
    """The test process's environment without proxies or an NGC key, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in _PROXY_VARS and k not in ("NGC_API_KEY", "NIMGEN_NGC_API_URL")
    }
    env["COLUMNS"] = "200"
    if key is not None:
        env["NGC_API_KEY"] = key
    env.update(extra)
    return env


def with_eu_decision(args: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """``args`` plus ``--no-eu`` for a ``generate`` or ``render`` that names no EU source.

    nimgen refuses to ship a tree without an EU decision; tests about other things opt
    out explicitly, as a user experimenting locally would. (``render`` of an input that
    carries EU facts applies them, --no-eu or not.)
    """
    out = list(args)
    named = any(a.split("=", 1)[0] in _EU_OPTIONS for a in out) or "NIMGEN_EU_PROXY" in env
    if out and out[0] in ("generate", "render") and not named:
        out.append("--no-eu")
    return out


def run_nimgen(
    *args: str,
    key: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    eu_decision: bool = True,
) -> NimgenResult:
    """Run the console script; ``eu_decision`` adds ``--no-eu`` where no EU source is named."""
    env = env if env is not None else clean_env(key)
    if eu_decision:
        args = tuple(with_eu_decision(args, env))
    completed = subprocess.run(
        [nimgen_executable(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return NimgenResult(completed.returncode, completed.stdout, completed.stderr)


@dataclass(frozen=True)
class Bounded:
    """A run under an address-space limit; ``max_rss_mib`` is the command's own peak."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mib: float


def run_bounded(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    limit: int = GIB,
    timeout: float = 90,
    signal_when: Callable[[], bool] | None = None,
) -> Bounded:
    """Run ``nimgen args`` under an address-space limit; fail the test after ``timeout``.

    ``signal_when``: a callable polled while the run lasts; once true, SIGTERM is sent.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        report = Path(tempfile.mkdtemp()) / "peak-rss"
        started = time.monotonic()
        wrapper = [sys.executable, own_peak_rss.WRAPPER, str(limit), str(report)]
        proc = subprocess.Popen(
            [*wrapper, nimgen_executable(), *args],
            env=env if env is not None else clean_env(VALID_KEY),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a timeout kills the wrapper and nimgen together
        )
        signalled = False
        while proc.poll() is None:
            if signal_when is not None and not signalled and signal_when():
                proc.send_signal(signal.SIGTERM)  # the wrapper passes it on to nimgen
                signalled = True
                started = time.monotonic()  # from now on: time to stop
            if time.monotonic() - started > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                pytest.fail(f"nimgen {' '.join(args)} did not end within {timeout}s")
            time.sleep(0.01)
        seconds = time.monotonic() - started
        texts = []
        for handle in (out, err):
            handle.seek(0)
            texts.append(handle.read().decode("utf-8", "replace"))
    peak_kib = int(report.read_text())
    shutil.rmtree(report.parent)
    return Bounded(proc.returncode, texts[0], texts[1], seconds, peak_kib / 1024)


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative posix path -> bytes)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def kustomize(path: Path) -> str:
    built = subprocess.run(
        ["kubectl", "kustomize", str(path)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    return built.stdout
