"""Any valid record, rendered, reads back as it was: through PyYAML (YAML 1.1) for arbitrary
records, and through real ``kubectl kustomize`` (YAML 1.2, Go) for a handful of hostile ones."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nimgen.catalog import ModelRecord
from nimgen.names import CONFIGMAP_KEY_MAX, configmap_key_problem
from nimgen.tags import TAG_PATTERN
from nimgen.tree.configmap import render_configmap
from nimgen.tree.layout import render_tree
from nimgen.tree.template import render_template

_KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._"
names = (
    st.text(_KEY_CHARS, min_size=1, max_size=CONFIGMAP_KEY_MAX)
    | st.sampled_from(["yes", "no", "on", "off", "null", "1e3", "007", "0x1F", ".inf", "-"])
).filter(lambda n: configmap_key_problem(n) is None)
# Any text, including controls, quotes, YAML indicators, line separators, astral planes.
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60) | st.sampled_from(
    ['"', "'", ": ", " #", "- ", "|\n", ">-", "\n", "\r\n", "\u2028", "\x85", "\ufeff", "\x00"]
)

# Image tags YAML could read as something else, and org[/team] namespaces of any text.
image_tags = st.from_regex(TAG_PATTERN, fullmatch=True) | st.sampled_from(
    ["yes", "No", "null", "1e3", "007", "0x1F", "1.0", "_", "True"]
)
segments = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), min_size=1
)
namespaces = st.builds("/".join, st.lists(segments, min_size=1, max_size=2))


@st.composite
def records(draw: st.DrawFn) -> ModelRecord:
    tags = draw(st.lists(image_tags, min_size=1, max_size=6, unique=True))
    return ModelRecord(
        name=draw(names),
        displayName=draw(texts),
        shortDescription=draw(texts),
        namespace=draw(namespaces),
        tags=tuple(tags),
        latestTag=draw(st.sampled_from(tags)),
        updatedDate=draw(texts),
        euRestricted=draw(st.booleans()),
    )


def _read_back(configmap_text: str) -> dict[str, Any]:
    document = yaml.safe_load(configmap_text)
    return {key: json.loads(value) for key, value in document["data"].items()}


@given(st.lists(records(), max_size=8, unique_by=lambda r: r.name))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_render_then_parse_gives_back_every_record(batch: list[ModelRecord]) -> None:
    rendered = render_configmap(batch)
    read = _read_back(rendered.text)
    assert read == {r.name: r.as_json_dict() for r in batch}
    assert [ModelRecord.model_validate(read[r.name]) for r in batch] == batch  # still valid
    assert all(isinstance(key, str) for key in read)
    # Deterministic: the same records in any order render the same bytes.
    assert render_configmap(reversed(batch)).text == rendered.text


HOSTILE = [
    ModelRecord(
        name=name,
        displayName=text,
        shortDescription=f"{text}\n\n{text}",
        namespace=f"nim/{text.replace('/', '_')}",
        tags=(tag, "1.0.0", "latest"),
        latestTag="1.0.0",
        updatedDate=text,
        euRestricted=i % 2 == 0,
    )
    for i, (name, text, tag) in enumerate(
        [
            ("yes", 'say "hi": it\'s # not a comment', "yes"),
            ("on", "line\nbreak\r\nand\u2028separators\x85", "Off"),
            ("null", "🚀 ünïcødé 中文 עברית \ufeff", "null"),
            ("1e3", "&anchor *alias !tag %dir @ ` |\n>-\n", "1e3"),
            ("007", "---\n...\n{json: [1, 2]}", "007"),
            ("-", "\x00\x07\x1b[31m\t\\", "0x1F"),
            ("." + "x" * 252, "   spaces   ", "_" * 128),
        ]
    )
]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_hostile_records_survive_kubectl_kustomize(tmp_path: Path) -> None:
    configmap = render_configmap(HOSTILE)
    for relative, content in render_tree(configmap, render_template()).items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    expected = {r.name: r.as_json_dict() for r in HOSTILE}
    assert _read_back(configmap.text) == expected
    for target in ("base", "overlays/odh", "overlays/rhoai"):
        built = subprocess.run(
            ["kubectl", "kustomize", str(tmp_path / target)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert built.returncode == 0, built.stderr
        (document,) = [
            d for d in yaml.safe_load_all(built.stdout) if d and d.get("kind") == "ConfigMap"
        ]
        read = {key: json.loads(value) for key, value in document["data"].items()}
        assert read == expected, target
