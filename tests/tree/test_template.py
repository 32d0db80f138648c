"""The NVIDIA NIM ServingRuntime Template: contract shape, KServe schema, no secrets, kustomize."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import nimgen
from nimgen.tree.template import (
    TEMPLATE_FILENAME,
    TEMPLATE_NAME,
    render_template,
    templates_dir,
)

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _strip_x_kubernetes(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _strip_x_kubernetes(value)
            for key, value in node.items()
            if not key.startswith("x-kubernetes-")
        }
    if isinstance(node, list):
        return [_strip_x_kubernetes(item) for item in node]
    return node


def _closed(node: Any) -> Any:
    """``node`` with every object schema closed, as the API server's pruning effectively is.

    A field the CRD does not know is silently dropped by the API server; closing the schema
    turns such a field (a typo, a wrong nesting) into a validation error here.
    """
    if isinstance(node, dict):
        out = {key: _closed(value) for key, value in node.items()}
        if (
            node.get("type") == "object"
            and "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


@cache
def _crd_schema() -> dict[str, Any]:
    path = (
        Path(__file__).parents[1] / "fixtures" / "crds" / "serving.kserve.io_servingruntimes.yaml"
    )
    if not path.is_file():
        pytest.skip(f"KServe ServingRuntime CRD not found at {path}")
    crd = yaml.safe_load(path.read_text(encoding="utf-8"))
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


@cache
def _validator(closed: bool) -> jsonschema.Draft7Validator:
    schema = _crd_schema()
    if closed:
        schema = _closed(schema)
    schema = _strip_x_kubernetes(schema)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def text() -> str:
    return render_template()


@pytest.fixture(scope="module")
def doc(text: str) -> dict[str, Any]:
    parsed = yaml.safe_load(text)
    assert isinstance(parsed, dict)
    return parsed


@pytest.fixture(scope="module")
def runtime(doc: dict[str, Any]) -> dict[str, Any]:
    (obj,) = doc["objects"]
    assert isinstance(obj, dict)
    return obj


def _walk(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (key, value) pair of every mapping in ``node``, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


# --- the Template -------------------------------------------------------------------------


def test_template_names_constants() -> None:
    assert TEMPLATE_NAME == "nim-http-template"
    assert TEMPLATE_FILENAME == "nim-http-template.yaml"
    assert (templates_dir() / f"{TEMPLATE_FILENAME}.j2").is_file()


# --- conformance with upstream's references -------------------------------------------------

REFERENCES = Path(__file__).with_name("fixtures") / "template_references.yaml"
CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract.md"


def _leaves(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every field as ``(path, value)``; list items with a ``name`` keyed by it (their order
    carries no meaning), other lists and empty maps as whole values."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list) and node and all(isinstance(i, dict) and "name" in i for i in node):
        for item in node:
            rest = {k: v for k, v in item.items() if k != "name"}
            yield from _leaves(rest, f"{path}[{item['name']}]")
    else:
        yield path, node


def _fields(template: dict[str, Any]) -> dict[str, Any]:
    (runtime,) = template["objects"]
    outer = {k: v for k, v in template.items() if k != "objects"}
    return dict(_leaves(outer, "")) | dict(_leaves(runtime, "runtime"))


def _listed_differences() -> list[str]:
    """The first column of docs/contract.md's "Template conformance" table (``*``: any text)."""
    section = CONTRACT.read_text(encoding="utf-8").split("### Template conformance", 1)[1]
    rows = re.findall(r"^\| `([^`]+)` \|", section.split("\n### ", 1)[0], re.MULTILINE)
    assert rows, "docs/contract.md lists no Template differences"
    return rows


def test_template_conforms_to_the_spec_and_the_controller_field_by_field(
    doc: dict[str, Any],
) -> None:
    """Every field on which nimgen's Template, the interface spec's and odh-model-controller's
    disagree is listed, with its reason, in docs/contract.md; and every listed one differs."""
    references = yaml.safe_load(REFERENCES.read_text(encoding="utf-8"))
    ours, spec, controller = (
        _fields(t) for t in (doc, references["spec"], references["controller"])
    )
    missing = object()
    differing = sorted(
        path
        for path in ours.keys() | spec.keys() | controller.keys()
        if not ours.get(path, missing) == spec.get(path, missing) == controller.get(path, missing)
    )
    listed = _listed_differences()
    rules = {row: re.compile(re.escape(row).replace(r"\*", ".*")) for row in listed}
    unlisted = [p for p in differing if not any(r.fullmatch(p) for r in rules.values())]
    assert not unlisted, "differences not in docs/contract.md: " + ", ".join(unlisted)
    stale = [row for row, r in rules.items() if not any(r.fullmatch(p) for p in differing)]
    assert not stale, "listed in docs/contract.md but no longer different: " + ", ".join(stale)
    # What nimgen aligned on: the same in all three.
    gpu = "runtime.spec.containers[kserve-container].resources.limits.nvidia.com/gpu"
    formats = "runtime.spec.supportedModelFormats[replace-me]"
    for path in ("runtime.spec.protocolVersions", formats, gpu):
        assert ours[path] == spec[path] == controller[path], path


def test_template_validates_against_kserve_crd(runtime: dict[str, Any]) -> None:
    errors = sorted(_validator(closed=False).iter_errors(runtime), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_template_has_no_field_the_api_server_would_prune(runtime: dict[str, Any]) -> None:
    errors = sorted(_validator(closed=True).iter_errors(runtime), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_template_crd_validation_catches_a_broken_runtime(runtime: dict[str, Any]) -> None:
    broken = copy.deepcopy(runtime)
    broken["spec"]["containers"][0]["ports"][0]["containerPort"] = "8000"
    del broken["spec"]["supportedModelFormats"][0]["name"]
    assert len(list(_validator(closed=False).iter_errors(broken))) >= 2
    typo = copy.deepcopy(runtime)
    typo["spec"]["containers"][0]["volumeMount"] = []
    assert list(_validator(closed=True).iter_errors(typo))


# --- no secrets ---------------------------------------------------------------------------


def test_template_has_no_secrets(text: str, doc: dict[str, Any]) -> None:
    keys = {key for key, _ in _walk(doc)}
    assert "imagePullSecrets" not in keys
    assert "secretKeyRef" not in keys
    assert "secret" not in keys  # no secret volumes either
    env_names = {
        value_item["name"] for key, value in _walk(doc) if key == "env" for value_item in value
    }
    assert "NGC_API_KEY" not in env_names
    for needle in ("NGC_API_KEY", "imagePullSecrets", "secretKeyRef", "nvapi-"):
        assert needle not in text


# --- volumes ------------------------------------------------------------------------------


def test_template_volumes_and_mounts_match(runtime: dict[str, Any]) -> None:
    spec = runtime["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert len(volumes) == len(spec["volumes"]), "duplicate volume names"
    mounted: set[str] = set()
    for ctr in spec["containers"]:
        for mount in ctr.get("volumeMounts", []):
            assert mount["name"] in volumes, f"mount {mount} has no volume"
            mounted.add(mount["name"])
    assert mounted == set(volumes), f"unmounted volumes: {set(volumes) - mounted}"
    for name in volumes:
        assert DNS1123_LABEL.match(name), name


# --- text properties ----------------------------------------------------------------------


def test_template_render_is_byte_stable(text: str) -> None:
    assert render_template() == text


def test_template_text_layout(text: str) -> None:
    assert text.startswith("# Generated by nimgen")
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    assert "\t" not in text
    assert "\r" not in text
    assert all(line == line.rstrip() for line in text.splitlines()), "trailing whitespace"
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, line
    # nothing that would change between runs or nimgen releases
    assert nimgen.__version__ not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    assert "{{" not in text and "{%" not in text and "{#" not in text


def test_template_every_quoted_looking_value_stays_a_string(doc: dict[str, Any]) -> None:
    # YAML would read an unquoted true/8000/["single"] as a bool, an int, a list.
    for key, value in _walk(doc):
        if key in {"labels", "annotations", "requests", "limits"}:
            assert all(isinstance(v, str) for v in value.values()), (key, value)
        if key == "env":
            assert all(isinstance(item["value"], str) for item in value)


# --- templates_dir ------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["wheel", "checkout", "neither"])
def test_templates_dir_is_the_wheels_else_the_checkouts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    package = tmp_path / "site" / "nimgen"
    package.mkdir(parents=True)
    wheel, checkout = package / "templates", tmp_path / "site" / "templates"
    if layout == "wheel":
        wheel.mkdir()
    if layout != "neither":
        checkout.mkdir()
    monkeypatch.setattr(nimgen, "__file__", str(package / "__init__.py"))
    if layout == "neither":
        with pytest.raises(FileNotFoundError, match=f"{wheel} and {checkout}"):
            templates_dir()
    else:
        assert templates_dir() == (wheel if layout == "wheel" else checkout)


# --- kustomize ----------------------------------------------------------------------------


def test_template_builds_with_kubectl_kustomize(
    tmp_path: Path, text: str, doc: dict[str, Any]
) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    (tmp_path / TEMPLATE_FILENAME).write_text(text, encoding="utf-8")
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"resources:\n  - {TEMPLATE_FILENAME}\n",
        encoding="utf-8",
    )
    built = subprocess.run([kubectl, "kustomize", str(tmp_path)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert list(yaml.safe_load_all(built.stdout)) == [doc]
