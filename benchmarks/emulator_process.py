"""The NGC emulator in a process of its own, so that its CPU time is not the client's.

    with EmulatorProcess(models=1000, latency=0.05) as url: ...

``python -m benchmarks.emulator_process MODELS LATENCY`` prints the URL on one line and
serves until its standard input closes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[1]


class EmulatorProcess:
    def __init__(self, *, models: int, latency: float) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "benchmarks.emulator_process",
            str(models),
            str(latency),
        ]
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> str:
        self._process = subprocess.Popen(
            self._argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        url = self._process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError("the emulator process did not start")
        return url

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(10)


def main(argv: list[str]) -> None:
    from tests.support.ngc_emulator import NgcEmulator, make_models

    models, latency = int(argv[0]), float(argv[1])
    with NgcEmulator(make_models(models), latency=latency) as emu:
        print(emu.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1:])
