"""Helpers of the fault suite: run the installed ``nimgen`` against the emulator and read
back what it wrote.

Every run goes through the console script in a subprocess, with an environment free of
proxy variables, and with fast retry settings (few attempts, short timeouts) so that each
fault costs seconds, not minutes. Fixtures built on these live in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from nimgen.tempnames import TEMP_PREFIX
from nimgen.tree.layout import BASE_CONFIGMAP
from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, RequestRecord
from tests.support.nimgen_runner import nimgen_executable, with_eu_decision

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
# Fast defaults for a fault run; a test overrides any of them by passing the option itself.
FAST = {"--request-timeout": "5", "--max-attempts": "4", "--concurrency": "16"}


def base_env(key: str | None = VALID_KEY, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in _PROXY_VARS and not k.startswith(("NGC_", "NIMGEN_"))
    }
    env["COLUMNS"] = "200"
    if key is not None:
        env["NGC_API_KEY"] = key
    env.update(extra)
    return env


def _default_sigint() -> None:
    # A child started from a shell that ignores SIGINT inherits that; Ctrl-C tests need it live.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_kib: int = 0

    @property
    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document

    @property
    def everything(self) -> str:
        return self.stdout + self.stderr

    def failures(self) -> dict[str, str]:
        """Failed model -> reason, from ``--json``: ``failed`` when the run shipped
        (``--allow-partial``), else the ``errorDetails`` lines ("name: reason")."""
        document = self.json
        if document["failed"]:
            return {f["name"]: f["reason"] for f in document["failed"]}
        pairs = (line.partition(": ") for line in document.get("errorDetails", []))
        return {name: reason for name, _, reason in pairs}

    def failed_names(self) -> set[str]:
        return set(self.failures())


def with_fast_defaults(args: Sequence[str]) -> list[str]:
    out = list(args)
    for option, value in FAST.items():
        if option not in out:
            out += [option, value]
    return out


class Nimgen:
    """Runs the console script; ``generate(emu, out, ...)`` is the common case.

    ``run_many`` starts several runs at once (independent faults, two cores) and
    reports each one's exit code, output, time and peak resident memory (``wait4``).
    """

    def run(
        self,
        *args: str,
        key: str | None = VALID_KEY,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
        eu_decision: bool = True,
    ) -> Run:
        return self.run_many(
            [list(args)], key=key, env=env, timeout=timeout, eu_decision=eu_decision
        )[0]

    def run_many(
        self,
        commands: Sequence[Sequence[str]],
        *,
        key: str | None = VALID_KEY,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
        eu_decision: bool = True,
    ) -> list[Run]:
        """``eu_decision``: add ``--no-eu`` to a generate/render that names no EU source."""
        started = time.monotonic()
        procs = []
        for args in commands:
            if eu_decision:
                args = with_eu_decision(args, env if env is not None else {})
            # Closed below, once the run has ended and its output was read.
            out = tempfile.TemporaryFile()  # noqa: SIM115
            err = tempfile.TemporaryFile()  # noqa: SIM115
            proc = subprocess.Popen(
                [nimgen_executable(), *args],
                env=dict(env) if env is not None else base_env(key),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
            procs.append((proc, out, err))
        runs: dict[int, Run] = {}
        while len(runs) < len(procs):
            for index, (proc, out, err) in enumerate(procs):
                if index in runs:
                    continue
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if not pid:
                    continue
                proc.returncode = os.waitstatus_to_exitcode(status)
                texts = []
                for handle in (out, err):
                    handle.seek(0)
                    texts.append(handle.read().decode("utf-8", "replace"))
                    handle.close()
                elapsed = time.monotonic() - started
                runs[index] = Run(proc.returncode, texts[0], texts[1], elapsed, usage.ru_maxrss)
            if time.monotonic() - started > timeout:
                for proc, _, _ in procs:
                    proc.kill()
                pytest.fail(f"nimgen runs did not end within {timeout}s: {commands}")
            time.sleep(0.01)
        return [runs[i] for i in range(len(procs))]

    def generate(self, emu: NgcEmulator, out: Path, *args: str, **kw: Any) -> Run:
        return self.run(*self.generate_args(emu, out, *args), **kw)

    def generate_args(self, emu: NgcEmulator, out: Path, *args: str) -> list[str]:
        return [
            "generate",
            "--ngc-api-url",
            emu.url,
            "--output",
            str(out),
            "--json",
            *with_fast_defaults(args),
        ]

    def popen(self, args: Sequence[str], **kw: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [nimgen_executable(), *with_eu_decision(args, kw.get("env") or {})],
            env=kw.pop("env", None) or base_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            preexec_fn=_default_sigint,
            **kw,
        )


# -- reading results ---------------------------------------------------------------


def configmap_records(out: Path) -> dict[str, dict[str, Any]]:
    """The shipped ConfigMap's entries, read the way a consumer does (YAML, then JSON)."""
    document = yaml.safe_load((out / BASE_CONFIGMAP).read_text(encoding="utf-8"))
    return {key: json.loads(value) for key, value in document["data"].items()}


def kustomize_configmap(path: Path) -> dict[str, dict[str, Any]]:
    """The ConfigMap entries after ``kubectl kustomize path`` (a base or an overlay)."""
    built = subprocess.run(
        ["kubectl", "kustomize", str(path)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    for document in yaml.safe_load_all(built.stdout):
        if document and document.get("kind") == "ConfigMap":
            data = document["data"]
            assert all(isinstance(k, str) for k in data), [
                k for k in data if not isinstance(k, str)
            ]
            return {key: json.loads(value) for key, value in data.items()}
    raise AssertionError("kubectl kustomize produced no ConfigMap")


def temp_leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(TEMP_PREFIX))


def model_requests(emu: NgcEmulator, name: str) -> list[RequestRecord]:
    """The finished requests for one model, in start order."""
    marker = f"/repos/{name}?"
    return sorted(
        (r for r in emu.requests if r.kind == "model" and marker in r.path),
        key=lambda r: r.start_time,
    )


# -- TLS in front of the emulator ---------------------------------------------------


def make_test_ca(directory: Path, name: str = "ca") -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it (openssl CLI):
    (CA certificate, server certificate, server key), all PEM."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make test certificates")
    ca_key = directory / f"{name}.key"
    ca_pem = directory / f"{name}.pem"
    key = directory / f"{name}-server.key"
    csr = directory / f"{name}.csr"
    pem = directory / f"{name}-server.pem"
    ext = directory / f"{name}.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n"
    )
    ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    steps = [
        f"req -x509 {ec} -keyout {ca_key} -out {ca_pem} -days 2 -subj '/CN=nimgen test {name}'"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
        f"req {ec} -keyout {key} -out {csr} -subj /CN=127.0.0.1",
        f"x509 -req -in {csr} -CA {ca_pem} -CAkey {ca_key} -CAcreateserial -out {pem} -days 2"
        f" -extfile {ext}",
    ]
    for step in steps:  # the paths are pytest's: no spaces or quotes in them
        subprocess.run([openssl, *shlex.split(step)], check=True, capture_output=True, timeout=30)
    return ca_pem, pem, key


class TlsFront:
    """HTTPS on loopback in front of a plain-HTTP server: decrypts, relays bytes both ways."""

    def __init__(self, upstream_port: int, cert: Path, key: Path) -> None:
        import ssl

        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(str(cert), str(key))
        self._upstream = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> TlsFront:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(2)

    def _serve(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._relay, args=(raw,), daemon=True).start()

    def _relay(self, raw: socket.socket) -> None:
        import ssl

        raw.settimeout(10)
        try:
            tls = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self._upstream), timeout=10)

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (source, sink):
                    with contextlib.suppress(OSError):
                        sock.close()

        threading.Thread(target=pump, args=(upstream, tls), daemon=True).start()
        pump(tls, upstream)
