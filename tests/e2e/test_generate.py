"""``nimgen generate`` end to end: the installed console script against the NGC emulator."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from nimgen.catalog import ModelRecord
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, NgcEmulator
from tests.support.nimgen_runner import clean_env, kustomize, run_nimgen, tree_bytes

TREE = {
    "base/kustomization.yaml",
    "base/nim-http-template.yaml",
    "base/nim-models-data.yaml",
    "overlays/odh/kustomization.yaml",
    "overlays/rhoai/kustomization.yaml",
}
FAST = ("--max-attempts", "2", "--request-timeout", "5")


def generate(emu: NgcEmulator, out: Path, *extra: str, key: str | None = VALID_KEY):  # type: ignore[no-untyped-def]
    return run_nimgen("generate", "--ngc-api-url", emu.url, "--output", str(out), *extra, key=key)


def configmap_of(out: Path) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((out / "base" / "nim-models-data.yaml").read_text())


def crd_schema(fixtures_dir: Path) -> dict:  # type: ignore[type-arg]
    crd = yaml.safe_load(
        (fixtures_dir / "crds" / "serving.kserve.io_servingruntimes.yaml").read_text()
    )
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def test_generate_writes_the_shippable_tree(
    ngc_emulator: NgcEmulator, tmp_path: Path, fixtures_dir: Path
) -> None:
    out = tmp_path / "config" / "nim"
    result = generate(ngc_emulator, out, "--json")
    assert result.code == 0, result.stderr
    assert set(tree_bytes(out)) == TREE
    summary = json.loads(result.stdout)
    assert summary["ok"] is True and summary["models"] == 186 and summary["discovered"] == 186
    assert summary["configMap"]["sizeBytes"] < 1_048_576

    configmap = configmap_of(out)
    assert configmap["immutable"] is True
    assert configmap["metadata"]["name"] == summary["configMap"]["name"]
    assert configmap["metadata"]["name"].startswith("nim-models-data-")
    assert list(configmap["data"]) == sorted(configmap["data"])
    for key, value in configmap["data"].items():
        record = ModelRecord.model_validate_json(value)
        assert record.name == key
    assert ngc_emulator.count("model") == 186
    assert ngc_emulator.count("key") == 1

    for overlay, namespace in (("odh", "opendatahub"), ("rhoai", "redhat-ods-applications")):
        docs = [d for d in yaml.safe_load_all(kustomize(out / "overlays" / overlay)) if d]
        assert {d["kind"] for d in docs} == {"ConfigMap", "Template"}
        assert all(d["metadata"]["namespace"] == namespace for d in docs)
        template = next(d for d in docs if d["kind"] == "Template")
        runtime = template["objects"][0]
        jsonschema.validate(runtime, crd_schema(fixtures_dir))


def test_second_run_is_byte_identical(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert generate(ngc_emulator, first).code == 0
    assert generate(ngc_emulator, second).code == 0
    assert tree_bytes(first) == tree_bytes(second)
    # and in place, over the previous tree
    assert generate(ngc_emulator, first).code == 0
    assert tree_bytes(first) == tree_bytes(second)


def test_key_never_leaks(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ok = generate(ngc_emulator, out, "--verbose", "--json")
    assert ok.code == 0
    assert "GET " in ok.stderr  # --verbose logs request lines
    bad_key = "nvapi-this-one-is-wrong-000"
    rejected = generate(ngc_emulator, tmp_path / "other", "--verbose", "--json", key=bad_key)
    assert rejected.code == 4
    for text in (ok.output, rejected.output):
        assert VALID_KEY not in text and bad_key not in text
    for content in tree_bytes(out).values():
        assert VALID_KEY.encode() not in content


def test_rejected_key_writes_nothing_and_keeps_previous_tree(
    ngc_emulator: NgcEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert generate(ngc_emulator, out).code == 0
    before = tree_bytes(out)
    ngc_emulator.reset_counters()
    result = generate(ngc_emulator, out, key="nvapi-rejected-key-42")
    assert result.code == 4
    assert "rejected" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_bytes(out) == before
    assert ngc_emulator.count("model") == 0
    assert not list(tmp_path.glob(".nimgen-tmp-*"))


def test_legacy_and_missing_keys(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    legacy = generate(ngc_emulator, tmp_path / "o", key="abcdef-legacy-org-key")
    assert legacy.code == 2
    assert "personal key" in legacy.stderr and "abcdef-legacy-org-key" not in legacy.output
    missing = generate(ngc_emulator, tmp_path / "o", key=None)
    assert missing.code == 2 and "NGC_API_KEY" in missing.stderr
    assert ngc_emulator.count("model") == 0 and ngc_emulator.count("catalog") == 0
    assert not (tmp_path / "o").exists()


def test_api_key_file(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(VALID_KEY + "\n")
    key_file.chmod(0o600)
    result = generate(ngc_emulator, tmp_path / "out", "--api-key-file", str(key_file), key=None)
    assert result.code == 0, result.stderr
    assert "readable by other users" not in result.stderr


def test_plain_http_to_remote_host_refused_before_any_request(tmp_path: Path) -> None:
    result = run_nimgen(
        "generate", "--ngc-api-url", "http://example.com", "-o", str(tmp_path / "o"), key=VALID_KEY
    )
    assert result.code == 2 and "plain http" in result.stderr


def test_selection_and_models_file(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    account = tmp_path / "account.yaml"
    account.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: odh-nim-account-models}\n"
        'data:\n  models: \'["phi-3-mini-4k-instruct", "llama-3.1-8b-instruct"]\'\n'
    )
    out = tmp_path / "out"
    result = generate(
        ngc_emulator,
        out,
        "--models",
        "llama-3.1-*",
        "--exclude",
        "*-pb*",
        "--models-file",
        str(account),
        "--json",
    )
    assert result.code == 0, result.stderr
    names = set(configmap_of(out)["data"])
    assert "llama-3.1-8b-instruct" in names
    assert all(n.startswith("llama-3.1-") or n == "phi-3-mini-4k-instruct" for n in names)
    assert not any("-pb" in n for n in names)
    summary = json.loads(result.stdout)
    assert summary["skippedBySelection"] == 186 - len(names)
    assert ngc_emulator.count("model") == len(names)


def test_team_less_and_tagless_resources(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    template = ngc_emulator.models[0]
    ngc_emulator.add_models(
        [
            EmulatedModel(
                name="solo-model",
                display_name="Solo",
                short_description="No team",
                org="nim",
                team=None,
                tags=("2.0", "1.0", "latest"),
                latest_tag="2.0",
                updated_date=template.updated_date,
                date_modified=template.date_modified,
                latest_tag_pushed_date=template.latest_tag_pushed_date,
                eu_restricted=False,
            ),
            EmulatedModel(
                name="not-yet-pushed",
                display_name="Nothing",
                short_description="No tag",
                org="nim",
                team="nvidia",
                tags=("1.0",),
                latest_tag=None,
                updated_date=template.updated_date,
                date_modified=template.date_modified,
                latest_tag_pushed_date=None,
                eu_restricted=False,
            ),
        ]
    )
    out = tmp_path / "out"
    result = generate(ngc_emulator, out, "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["leftOutNoTag"] == ["not-yet-pushed"]
    data = configmap_of(out)["data"]
    assert json.loads(data["solo-model"])["namespace"] == "nim"
    assert "not-yet-pushed" not in data


def test_failed_model_is_strict_by_default(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    from tests.support.ngc_emulator import Fault

    out = tmp_path / "out"
    assert generate(ngc_emulator, out).code == 0
    before = tree_bytes(out)
    ngc_emulator.fault_model_forever("llama-3.1-8b-instruct", Fault.status(500))
    strict = generate(ngc_emulator, out, *FAST)
    assert strict.code == 1
    assert "llama-3.1-8b-instruct" in strict.stderr and "HTTP 500" in strict.stderr
    assert tree_bytes(out) == before
    partial = generate(ngc_emulator, out, *FAST, "--allow-partial", "--json")
    assert partial.code == 0, partial.stderr
    summary = json.loads(partial.stdout)
    assert [f["name"] for f in summary["failed"]] == ["llama-3.1-8b-instruct"]
    assert "llama-3.1-8b-instruct" not in configmap_of(out)["data"]
    assert summary["models"] == 185


def test_name_suffix_none_warns(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = generate(ngc_emulator, out, "--name-suffix", "none")
    assert result.code == 0
    assert "cannot be applied in place" in result.stderr
    assert configmap_of(out)["metadata"]["name"] == "nim-models-data"


def test_foreign_output_refused(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.md").write_text("mine")
    result = generate(ngc_emulator, out)
    assert result.code == 2 and "README.md" in result.stderr
    assert ngc_emulator.count("model") == 0
    assert (out / "README.md").read_text() == "mine"


def test_fetch_then_render_equals_generate(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.json"
    fetched = run_nimgen(
        "fetch", "--ngc-api-url", ngc_emulator.url, "-o", str(snapshot), key=VALID_KEY
    )
    assert fetched.code == 0, fetched.stderr
    document = json.loads(snapshot.read_text())
    assert document["kind"] == "NimgenSnapshot" and len(document["models"]) == 186
    first = document["models"][0]
    assert set(first) >= {"record", "catalog"}
    assert set(first["catalog"]) >= {"resourceId", "dateModified", "latestTag"}
    assert VALID_KEY not in snapshot.read_text()

    generated, rendered, from_cm = tmp_path / "g", tmp_path / "r", tmp_path / "c"
    assert generate(ngc_emulator, generated).code == 0
    assert run_nimgen("render", "--from", str(snapshot), "-o", str(rendered)).code == 0
    assert tree_bytes(generated) == tree_bytes(rendered)
    configmap = generated / "base" / "nim-models-data.yaml"
    assert run_nimgen("render", "--from", str(configmap), "-o", str(from_cm)).code == 0
    assert tree_bytes(generated) == tree_bytes(from_cm)


def test_render_builtin_sample_offline(tmp_path: Path) -> None:
    result = run_nimgen("render", "-o", str(tmp_path / "out"), "--json", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "sample" in result.stderr
    assert json.loads(result.stdout)["models"] == 186
    kustomize(tmp_path / "out" / "overlays" / "rhoai")


def test_render_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run_nimgen("render", "--from", str(bad), "-o", str(tmp_path / "o"))
    assert result.code == 2
    assert result.stderr.strip().count("\n") == 0 and "bad.json" in result.stderr
    missing = run_nimgen("render", "--from", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "o"))
    assert missing.code == 2 and "Traceback" not in missing.stderr


def test_verify_key(ngc_emulator: NgcEmulator) -> None:
    good = run_nimgen("verify-key", "--ngc-api-url", ngc_emulator.url, key=VALID_KEY)
    assert good.code == 0, good.stderr
    bad = run_nimgen("verify-key", "--ngc-api-url", ngc_emulator.url, key="nvapi-nope")
    assert bad.code == 4 and "nvapi-nope" not in bad.output


def test_env_var_for_api_url(ngc_emulator: NgcEmulator, tmp_path: Path) -> None:
    env = clean_env(VALID_KEY, NIMGEN_NGC_API_URL=ngc_emulator.url)
    result = run_nimgen("generate", "-o", str(tmp_path / "o"), env=env)
    assert result.code == 0, result.stderr


@pytest.mark.parametrize("command", ["generate", "fetch", "render", "verify-key"])
def test_help_everywhere_and_exit_codes_documented(command: str) -> None:
    result = run_nimgen(command, "--help")
    assert result.code == 0
    assert "Exit codes" in result.stdout


def test_version_and_module_entry_point() -> None:
    import subprocess
    import sys

    from nimgen import __version__

    assert run_nimgen("--version").stdout.strip() == f"nimgen {__version__}"
    module = subprocess.run(
        [sys.executable, "-m", "nimgen", "--version"], capture_output=True, text=True, timeout=60
    )
    assert module.stdout.strip() == f"nimgen {__version__}"


def test_names_that_match_nothing_are_named_and_a_glob_fails(
    ngc_emulator: NgcEmulator, tmp_path: Path
) -> None:
    names = tmp_path / "models.txt"
    names.write_text("llama-3.1-8b-instruct\nno-such-model\n")
    out = tmp_path / "out"
    result = generate(ngc_emulator, out, "--models-file", str(names), "--json")
    assert result.code == 0, result.stderr
    (warning,) = [w for w in json.loads(result.stdout)["warnings"] if "no-such-model" in w]
    assert "no such model in the catalog" in warning and warning in result.stderr
    result = generate(ngc_emulator, tmp_path / "other", "--models", "llama-*", "--models", "nope-*")
    assert result.code == 1 and "'nope-*' matches no model in the catalog" in result.stderr
    assert not (tmp_path / "other").exists()
