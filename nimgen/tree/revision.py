"""The shipped ConfigMap's revision: which of the versions an upgrade leaves side by side
(an immutable object can only be replaced) is current. Output stays a pure function of
(catalog, previous tree), so ``--check`` works."""

from __future__ import annotations

from pathlib import Path

from nimgen.errors import BadInput
from nimgen.tree.configmap import (
    ANNOTATION_DIGEST,
    ANNOTATION_REVISION,
    MAX_OBJECT_BYTES,
    PreviousConfigMap,
)
from nimgen.tree.layout import BASE_CONFIGMAP

_UNNUMBERED = 1  # a tree written before revisions existed: the first release
# 18 digits: the revision and the next one fit a signed 64-bit integer, what readers use.
MAX_REVISION_DIGITS = 18


def revision_problem(value: object) -> str | None:
    """Why ``value`` is not a revision nimgen can continue, or None: the one rule for the
    annotation (``validate`` applies it too)."""
    if not isinstance(value, str):
        return f"must be a quoted decimal string, not {type(value).__name__} {value!r}"
    if value.startswith("-") and value[1:].isdecimal():
        return f"is {value}, negative; revisions count up from 1"
    if not (value.isascii() and value.isdecimal()):
        return f"is {value!r}, not a whole decimal number"
    if len(value) > MAX_REVISION_DIGITS:
        return (
            f"has {len(value)} digits, over {MAX_REVISION_DIGITS}: a reader's 64-bit "
            "integer could not hold it and the next one"
        )
    if int(value) < 1:
        return f"is {value}; revisions count up from 1"
    return None


_MAX_READ = 2 * MAX_OBJECT_BYTES  # a rendered ConfigMap's 1 MiB, its header and YAML overhead


def read_previous(tree: Path) -> PreviousConfigMap | None:
    """What the ConfigMap in an output tree says; None if the tree has none."""
    from nimgen.yamlio import read_yaml_file  # only when there is a previous tree

    path = tree / BASE_CONFIGMAP
    if not path.is_file():
        return None
    documents = read_yaml_file(path, what="the ConfigMap in --output", max_bytes=_MAX_READ)
    document = documents[0] if documents else {}
    if len(documents) > 1 or not isinstance(document, dict):
        raise BadInput(f"{path}: not a ConfigMap nimgen wrote (not a map)")
    metadata = document.get("metadata") or {}
    annotations = (metadata.get("annotations") or {}) if isinstance(metadata, dict) else None
    if not isinstance(annotations, dict):
        raise BadInput(f"{path}: metadata.annotations is not a map")
    digest = str(annotations.get(ANNOTATION_DIGEST, "")).removeprefix("sha256:")
    data = document.get("data")
    names = None
    if isinstance(data, dict) and all(isinstance(key, str) for key in data):
        names = tuple(sorted(data))
    text = annotations.get(ANNOTATION_REVISION)
    if text is None:
        return PreviousConfigMap(revision=_UNNUMBERED, digest=digest, names=names)
    problem = revision_problem(text)
    if problem is not None:
        raise BadInput(
            f"{path}: annotation {ANNOTATION_REVISION} {problem}; readers pick the highest "
            "revision, so nimgen will not guess the next one"
        )
    return PreviousConfigMap(revision=int(text), digest=digest, names=names)
