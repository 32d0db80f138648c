"""Secrets and transport: the key and proxy credentials never leave the process except in
the requests that need them; TLS is always verified; plain http only to loopback.

The greps cover everything a run produces: stdout (``--json``), stderr (also with
``--verbose``), every file written, and the runs that fail.
"""

from __future__ import annotations

import pickle
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from nimgen.apikey import ApiKey, redact, register_secret
from tests.support.fault_kit import Nimgen, Run, base_env, make_test_ca
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, Fault, NgcEmulator
from tests.support.nimgen_runner import tree_bytes

WRONG_KEY = "nvapi-wrong-secret-Zq81x"
LEGACY_KEY = "legacy-org-key-secret-Qw77"
SPACED_KEY = "nvapi-spaced secret-Kk42"
PROXY_USER = "euproxy"
PROXY_PASSWORD = "p@ss:w0rd/Secr3t"
WRONG_PROXY_PASSWORD = "n0t-the-Pa55word"

NEEDLES = [
    VALID_KEY,
    VALID_KEY.removeprefix("nvapi-"),
    WRONG_KEY,
    WRONG_KEY.removeprefix("nvapi-"),
    LEGACY_KEY,
    SPACED_KEY,
    "spaced secret",
    PROXY_PASSWORD,
    quote(PROXY_PASSWORD, safe=""),
    WRONG_PROXY_PASSWORD,
]


def leaks(text: str | bytes) -> list[str]:
    data = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return [needle for needle in NEEDLES if needle in data]


def assert_no_secret(runs: dict[str, Run], files: dict[str, bytes]) -> None:
    for label, run in runs.items():
        assert leaks(run.stdout) == [], (label, "stdout", run.stdout)
        assert leaks(run.stderr) == [], (label, "stderr", run.stderr)
    for name, content in files.items():
        assert leaks(content) == [], (name, content[:200])


@pytest.fixture
def eu_setup(
    ngc_models: list[EmulatedModel], fixtures_dir: Path
) -> Iterator[tuple[NgcEmulator, ForwardProxy]]:
    with (
        NgcEmulator(ngc_models[:30], fixtures_dir=fixtures_dir, eu_addresses={"127.0.0.2"}) as emu,
        ForwardProxy(username=PROXY_USER, password=PROXY_PASSWORD) as proxy,
    ):
        yield emu, proxy


def _proxy_url(proxy: ForwardProxy, password: str) -> str:
    return f"http://{PROXY_USER}:{quote(password, safe='')}@127.0.0.1:{proxy.port}"


def test_no_secret_in_any_output_of_passing_and_failing_runs(
    ngc_models: list[EmulatedModel],
    fixtures_dir: Path,
    eu_setup: tuple[NgcEmulator, ForwardProxy],
    nimgen: Nimgen,
    tmp_path: Path,
) -> None:
    eu_emu, proxy = eu_setup
    key_file = tmp_path / "key"
    key_file.write_text(VALID_KEY + "\n")
    key_file.chmod(0o600)
    with (
        NgcEmulator(ngc_models[:40], fixtures_dir=fixtures_dir) as emu,
        NgcEmulator(ngc_models[:40], fixtures_dir=fixtures_dir) as failing,
    ):
        for model in ngc_models[:3]:
            failing.fault_model_forever(model.name, Fault.status(503))
        loud = ("--verbose", "--json")
        url = ("--ngc-api-url", emu.url)
        commands = {
            "generate": nimgen.generate_args(emu, tmp_path / "ok", *loud),
            "generate --api-key-file": [
                *nimgen.generate_args(emu, tmp_path / "keyfile", *loud),
                "--api-key-file",
                str(key_file),
            ],
            "fetch": ["fetch", *url, "--output", str(tmp_path / "snap.json"), *loud],
            "failing generate": nimgen.generate_args(
                failing, tmp_path / "failed", *loud, "--max-attempts", "2"
            ),
            "failing fetch": [
                "fetch",
                "--ngc-api-url",
                failing.url,
                "--output",
                str(tmp_path / "failed.json"),
                "--max-attempts",
                "2",
                *loud,
            ],
            "generate --eu-proxy": [
                *nimgen.generate_args(eu_emu, tmp_path / "eu", *loud),
                "--eu-proxy",
                _proxy_url(proxy, PROXY_PASSWORD),
            ],
            "generate --eu-proxy, wrong password": [
                *nimgen.generate_args(eu_emu, tmp_path / "eu-bad", *loud, "--max-attempts", "2"),
                "--eu-proxy",
                _proxy_url(proxy, WRONG_PROXY_PASSWORD),
            ],
            "verify-key": ["verify-key", *url, *loud],
        }
        runs = dict(zip(commands, nimgen.run_many(list(commands.values())), strict=True))
        rejected = {  # keys that are wrong in every way, each echoed nowhere
            "wrong key": nimgen.run("verify-key", *url, *loud, key=WRONG_KEY),
            "wrong key, generate": nimgen.run(
                *nimgen.generate_args(emu, tmp_path / "rejected", *loud), key=WRONG_KEY
            ),
            "legacy key": nimgen.run("verify-key", *url, *loud, key=LEGACY_KEY),
            "key with a space": nimgen.run("verify-key", *url, *loud, key=SPACED_KEY),
        }
        assert emu.auth_failures == 2  # the wrong key was really sent (and refused)
    assert runs["generate"].code == runs["fetch"].code == runs["verify-key"].code == 0
    assert runs["generate --api-key-file"].code == 0
    assert runs["failing generate"].code == runs["failing fetch"].code == 1
    assert runs["generate --eu-proxy"].code == 0, runs["generate --eu-proxy"].stderr
    assert proxy.auth_failures > 0  # the wrong proxy password was tried
    assert "GET" in runs["generate"].stderr  # --verbose logged every request
    assert rejected["wrong key"].code == rejected["wrong key, generate"].code == 4
    assert rejected["legacy key"].code == rejected["key with a space"].code == 2
    files = {
        f"{d.name}/{name}": content
        for d in tmp_path.iterdir()
        if d.is_dir()
        for name, content in tree_bytes(d).items()
    }
    files.update({p.name: p.read_bytes() for p in tmp_path.glob("*.json")})
    assert "snap.json" in files and "ok/base/nim-models-data.yaml" in files
    assert_no_secret({**runs, **rejected}, files)


def test_no_secret_in_exception_text_repr_or_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nimgen.errors import NimgenError
    from nimgen.report.errors import internal_error_line

    key = ApiKey(VALID_KEY)
    assert VALID_KEY not in repr(key) + str(key) + f"{key}" + f"{key!r}" + format(key)
    assert VALID_KEY not in repr([key, {"k": key}])
    with pytest.raises(TypeError):
        pickle.dumps(key)
    register_secret(PROXY_PASSWORD)
    assert redact(f"proxy http://{PROXY_USER}:{quote(PROXY_PASSWORD, safe='')}@h:1") == (
        f"proxy http://{PROXY_USER}:***@h:1"
    )
    monkeypatch.setenv("NIMGEN_DEBUG", "1")
    try:
        raise RuntimeError(f"boom with {VALID_KEY} and {PROXY_PASSWORD}")
    except RuntimeError as exc:
        line = internal_error_line(exc)
    assert leaks(line) == [] and "boom with *** and ***" in line
    assert leaks(capsys.readouterr().err) == []  # the NIMGEN_DEBUG traceback too
    error = NimgenError(redact(f"request failed: Authorization: Bearer {VALID_KEY}"))
    assert leaks(str(error)) == []


def test_api_key_file_readable_by_others_warns(
    ngc_emulator: NgcEmulator, nimgen: Nimgen, tmp_path: Path
) -> None:
    modes = {0o600: False, 0o400: False, 0o640: True, 0o604: True, 0o644: True}
    files = {}
    for mode in modes:
        files[mode] = tmp_path / f"ngc-key-{mode:o}"
        files[mode].write_text(VALID_KEY)
        files[mode].chmod(mode)
    runs = nimgen.run_many(
        [
            ["verify-key", "--ngc-api-url", ngc_emulator.url, "--api-key-file", str(path)]
            for path in files.values()
        ],
        key=None,
    )
    for (mode, warns), run in zip(modes.items(), runs, strict=True):
        assert run.code == 0, run.stderr
        warning = f"the API key file {files[mode]} is readable by other users"
        assert (warning in run.stderr) is warns, (oct(mode), run.stderr)
        assert (f"chmod 600 {files[mode]}" in run.stderr) is warns
        assert leaks(run.everything) == []


def test_ca_bundle_is_trusted_and_tls_is_always_verified(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, nimgen: Nimgen, tmp_path: Path
) -> None:
    from tests.support.fault_kit import TlsFront

    ca, cert, key = make_test_ca(tmp_path, "corp")
    other_ca, _, _ = make_test_ca(tmp_path, "other")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("-----BEGIN NOTHING-----\n")
    with (
        NgcEmulator(ngc_models[:30], fixtures_dir=fixtures_dir) as emu,
        TlsFront(emu.port, cert, key) as front,
    ):
        url = ("--ngc-api-url", front.url)
        trusted, untrusted, wrong_ca, garbage, a_dir, missing, whole_run = nimgen.run_many(
            [
                ["verify-key", *url, "--ca-bundle", str(ca)],
                ["verify-key", *url],
                ["verify-key", *url, "--ca-bundle", str(other_ca)],
                ["verify-key", *url, "--ca-bundle", str(not_pem)],
                ["verify-key", *url, "--ca-bundle", str(tmp_path)],
                ["verify-key", *url, "--ca-bundle", str(tmp_path / "absent.pem")],
                [
                    "generate",
                    *url,
                    "--ca-bundle",
                    str(ca),
                    "--output",
                    str(tmp_path / "out"),
                    "--json",
                ],
            ]
        )
        key_calls = emu.count("key")
    assert trusted.code == 0 and "the key is valid" in trusted.stderr
    assert whole_run.code == 0, whole_run.stderr
    assert whole_run.json["models"] == 30
    for refused in (untrusted, wrong_ca):
        assert refused.code == 1, refused.stderr
        assert "TLS certificate verification failed" in refused.stderr
        assert "--ca-bundle PATH" in refused.stderr
        assert "gave up" not in refused.stderr  # final at once: no retries against a bad cert
    assert key_calls == 2  # only the two verified runs reached the server with the key
    assert garbage.code == 2 and "is not a readable PEM file of CA certificates" in garbage.stderr
    assert a_dir.code == 2 and missing.code == 2
    for run in (untrusted, wrong_ca, garbage, a_dir, missing):
        assert "Traceback" not in run.stderr


def _commands(nimgen: Nimgen) -> list[str]:
    text = nimgen.run("--help").stdout
    section = text.split("Commands:", 1)[1]
    return [m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)\s", section, re.MULTILINE)]


def test_there_is_no_insecure_option(nimgen: Nimgen) -> None:
    commands = _commands(nimgen)
    assert {"generate", "fetch", "verify-key"} <= set(commands)
    helps = nimgen.run_many([[command, "--help"] for command in commands])
    for command, run in zip(commands, helps, strict=True):
        assert run.code == 0, (command, run.stderr)
        text = run.stdout.lower()
        for word in ("insecure", "no-verify", "verify-ssl", "skip-tls", "tls-verify"):
            assert word not in text, (command, word)
    refused = nimgen.run("generate", "--insecure")
    assert refused.code == 2 and "No such option" in refused.stderr
    source = "\n".join(
        p.read_text() for p in Path(__file__).resolve().parents[2].joinpath("nimgen").rglob("*.py")
    )
    for pattern in ("verify=False", "CERT_NONE", "check_hostname = False", "_create_unverified"):
        assert pattern not in source, pattern


class _Trap:
    """A loopback listener standing in for every proxy: counts any connection attempt."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def __enter__(self) -> _Trap:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


NOT_LOOPBACK = (
    "http://api.ngc.nvidia.com",
    "http://192.0.2.10:8080",
    "http://127.0.0.1.nip.io:8080",
    "http://localhost.example.com",
    "http://[2001:db8::1]:8080",
)


def test_plain_http_to_a_non_loopback_host_is_refused_before_any_request(
    nimgen: Nimgen, tmp_path: Path
) -> None:
    with _Trap() as trap:
        trap_url = f"http://127.0.0.1:{trap.sock.getsockname()[1]}"
        # Any request at all, DNS-free, would land in the trap instead of the network.
        env = base_env(**{v: trap_url for v in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")})
        env.update({v.lower(): trap_url for v in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")})
        out = str(tmp_path / "out")
        commands = [["generate", "--ngc-api-url", url, "--output", out] for url in NOT_LOOPBACK]
        commands += [
            ["fetch", "--ngc-api-url", NOT_LOOPBACK[0], "--output", str(tmp_path / "s.json")],
            ["verify-key", "--ngc-api-url", NOT_LOOPBACK[1]],
        ]
        runs = nimgen.run_many(commands, env=env)
        from_env = nimgen.run(
            "verify-key", env={**env, "NIMGEN_NGC_API_URL": "http://api.ngc.nvidia.com"}
        )
        creds = nimgen.run(
            "verify-key", "--ngc-api-url", f"https://user:{VALID_KEY}@api.ngc.nvidia.com", env=env
        )
        assert trap.accepted == 0
    for args, run in zip(commands, [*runs], strict=True):
        assert run.code == 2, (args, run.stderr)
        assert "uses plain http to a non-loopback host" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
    assert from_env.code == 2 and "plain http" in from_env.stderr
    assert creds.code == 2 and "must not carry credentials" in creds.stderr
    assert leaks(creds.everything) == []
    assert list(tmp_path.iterdir()) == []
