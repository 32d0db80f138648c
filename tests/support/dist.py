"""Build nimgen's own distributions from this checkout, as the packaging tests need them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build_dist(kind: str, outdir: Path) -> Path:
    """``python -m build --{kind}`` (``wheel`` or ``sdist``) into ``outdir``; the file built."""
    built = subprocess.run(
        [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(outdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    pattern = "nimgen-*.whl" if kind == "wheel" else "nimgen-*.tar.gz"
    return next(outdir.glob(pattern))
