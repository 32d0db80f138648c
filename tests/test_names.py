"""nimgen.names: the Kubernetes name rules, checked against the API server's own code
(kubectl runs apimachinery's IsConfigMapKey client-side) and used by every command."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from nimgen.names import (
    CONFIGMAP_KEY_MAX,
    configmap_key_problem,
    dns_label_problem,
    dns_subdomain_problem,
)
from tests.support.fault_kit import Nimgen
from tests.support.model_records import record_fields
from tests.support.ngc_emulator import NgcEmulator
from tests.support.nimgen_runner import run_nimgen

# Keys the API server refuses that a plain [-._a-zA-Z0-9]+ check accepts.
DOT_DOT_KEYS = ("..a", "...", "..llama-3.1-8b-instruct", "..")
KEYS = (
    *DOT_DOT_KEYS,
    *(".", ".a", "a.", "a..b", ".a..", "-", "_x_", "yes", "007", "a b", "a/b", "../x", "a\n"),
    *("caf\u00e9", "", "k" * CONFIGMAP_KEY_MAX, "k" * (CONFIGMAP_KEY_MAX + 1)),
)


def test_dns_names() -> None:
    assert dns_subdomain_problem("custom-nim-models") is None
    assert dns_subdomain_problem("a.b-c") is None
    assert dns_subdomain_problem("") == "is empty"
    assert "not a valid object name" in str(dns_subdomain_problem("-a"))
    assert "254 characters" in str(dns_subdomain_problem("a" * 254))
    assert dns_label_problem("redhat-ods-applications") is None
    assert "not a valid namespace name" in str(dns_label_problem("a.b"))
    assert "64 characters" in str(dns_label_problem("a" * 64))


def test_keys_starting_with_two_dots_are_refused_single_dots_are_fine() -> None:
    assert all(configmap_key_problem(key) is not None for key in DOT_DOT_KEYS)
    for key in (".a", "a.", "a..b", ".a..", "yes", "1e3", "a.b_c-d", "a" * CONFIGMAP_KEY_MAX):
        assert configmap_key_problem(key) is None, key


def _kubectl_accepts(key: str) -> bool:
    """What kubectl (apimachinery's IsConfigMapKey, client-side) says of ``key``."""
    done = subprocess.run(
        ["kubectl", "create", "configmap", "probe", f"--from-literal={key}=v", "--dry-run=client"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
def test_the_key_rule_is_the_api_servers() -> None:
    # An empty key cannot even be passed to kubectl as --from-literal; it is refused here.
    verdicts = {key: _kubectl_accepts(key) for key in KEYS if key}
    ours = {key: configmap_key_problem(key) is None for key in verdicts}
    assert ours == verdicts
    assert configmap_key_problem("") is not None


def test_validate_and_render_refuse_a_dot_dot_key(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: custom-nim-models\ndata:\n"
        f"  '..hidden': '{json.dumps(record_fields('..hidden'))}'\n"
    )
    checked = run_nimgen("validate", str(path))
    assert checked.code == 1
    assert f"{path}: ..hidden: '..hidden' is not a valid ConfigMap key" in checked.stdout
    rendered = run_nimgen("render", "--from", str(path), "--output", str(tmp_path / "out"))
    assert rendered.code == 2
    assert "..hidden" in rendered.stderr and "not a valid ConfigMap key" in rendered.stderr
    assert not (tmp_path / "out").exists()


def test_generate_refuses_a_dot_dot_name_from_the_catalog(
    ngc_emulator: NgcEmulator, tmp_path: Path
) -> None:
    template = ngc_emulator.get_model("llama-3.1-8b-instruct")
    ngc_emulator.add_models([dataclasses.replace(template, name="..hidden", display_name="x")])
    run = Nimgen().generate(ngc_emulator, tmp_path / "out")
    assert run.code == 1, run.stderr
    reasons = run.failures()
    assert set(reasons) == {"..hidden"}
    assert "must not start with '..'" in reasons["..hidden"]
    assert ngc_emulator.model_calls["..hidden"] == 0  # refused from the catalog
    assert not (tmp_path / "out").exists()


def test_a_lone_surrogate_in_a_name_is_refused_not_a_crash() -> None:
    # json.loads makes one of "\ud800" in an answer; the key rule names it, as any other.
    problem = configmap_key_problem("llama\ud800")
    assert problem is not None and "not a valid ConfigMap key" in problem
