"""Run the installed ``nimgen`` console script as a user would, and capture everything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
_EU_OPTIONS = ("--eu-list", "--eu-proxy", "--no-eu")


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
