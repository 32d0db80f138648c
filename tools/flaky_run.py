"""Run ``nimgen generate`` against a flaky NGC emulator and report what it rode out.

The emulator (tests/ngc_emulator.py, on loopback) serves the 186 fixture models and fails
a share of the per-model answers at random: 503 (default 20 %) and 429 with
``Retry-After: 0`` (default 3 %). Each round is a fresh emulator with its own seed; every
round must ship all models, byte for byte as a fault-free run does.

Usage (from the repository, with the package installed):

    python -m tools.flaky_run [--rounds 5] [--rate-503 0.2] [--rate-429 0.03]
                              [--max-attempts 10] [--seed 1]

Exit 0 when every round shipped every model, 1 otherwise. Stays on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.ngc_emulator import VALID_KEY, NgcEmulator

ROOT = Path(__file__).resolve().parents[1]


def _nimgen() -> str:
    beside = Path(sys.executable).with_name("nimgen")
    found = str(beside) if beside.exists() else shutil.which("nimgen")
    if found is None:
        raise SystemExit("the nimgen console script is not installed (pip install -e .)")
    return found


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        and not k.startswith(("NGC_", "NIMGEN_"))
    }
    env["NGC_API_KEY"] = VALID_KEY
    return env


def _generate(emu: NgcEmulator, out: Path, max_attempts: int) -> tuple[int, dict[str, object], str]:
    args = [_nimgen(), "generate", "--ngc-api-url", emu.url, "--output", str(out), "--json"]
    args += ["--no-eu", "--max-attempts", str(max_attempts)]
    done = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=300)
    document = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, document, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate-503", type=float, default=0.2)
    parser.add_argument("--rate-429", type=float, default=0.03)
    parser.add_argument("--max-attempts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nimgen-flaky-") as tmp:
        with NgcEmulator() as clean:
            code, reference, stderr = _generate(clean, Path(tmp) / "clean", options.max_attempts)
        if code != 0:
            print(f"the fault-free run failed (exit {code}):\n{stderr}", file=sys.stderr)
            return 1
        digest = reference["configMap"]["digest"]  # type: ignore[index]
        models = reference["models"]
        print(
            f"flaky emulator: {options.rate_503:.0%} 503, {options.rate_429:.0%} 429 per answer; "
            f"--max-attempts {options.max_attempts}; {models} models; "
            f"{options.rounds} round(s)"
        )
        print("round  exit  shipped  failed  model requests  503s  429s  retries  seconds  same")
        totals = {"requests": 0, "503": 0, "429": 0, "shipped": 0, "lost": 0}
        ok = True
        for index in range(options.rounds):
            with NgcEmulator(
                flaky_rate=options.rate_503,
                flaky_429_rate=options.rate_429,
                seed=options.seed + index,
            ) as emu:
                started = time.monotonic()
                code, document, stderr = _generate(
                    emu, Path(tmp) / f"round-{index}", options.max_attempts
                )
                seconds = time.monotonic() - started
                requests = emu.count("model")
                served_503, served_429 = emu.count("model", 503), emu.count("model", 429)
            shipped = int(document.get("models", 0) or 0)  # type: ignore[call-overload]
            failed = len(document.get("failed", []) or [])  # type: ignore[arg-type]
            configmap = document.get("configMap") or {}
            same = code == 0 and configmap.get("digest") == digest  # type: ignore[union-attr]
            ok = ok and same and shipped == models
            totals["requests"] += requests
            totals["503"] += served_503
            totals["429"] += served_429
            totals["shipped"] += shipped
            totals["lost"] += int(models) - shipped  # type: ignore[call-overload]
            print(
                f"{index + 1:>5}  {code:>4}  {shipped:>7}  {failed:>6}  {requests:>14}  "
                f"{served_503:>4}  {served_429:>4}  {requests - shipped:>7}  {seconds:>7.1f}  "
                f"{'yes' if same else 'NO'}"
            )
            if code != 0:
                print(stderr, file=sys.stderr)
        print(
            f"total: {totals['requests']} model requests, {totals['503']} answered 503 and "
            f"{totals['429']} answered 429 ({totals['503'] + totals['429']} faults), "
            f"{totals['shipped']} models shipped, {totals['lost']} lost"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
