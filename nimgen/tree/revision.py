"""The shipped ConfigMap's revision: which of several coexisting versions is current.

An upgrade applies ``nim-models-data-<new>`` beside ``nim-models-data-<old>`` (an
immutable object cannot change, only be replaced), and both carry the reader's
label. The annotation ``opendatahub.io/nim-models-revision`` orders them: 1 on a
first run, the previous tree's revision + 1 when the data changes, the same when
it does not. Output stays a pure function of (catalog, previous tree), so
``--check`` keeps working.
"""

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

# A tree written before revisions existed counts as the first release.
_UNNUMBERED = 1
# 18 digits: the revision and the next one fit a signed 64-bit integer, what readers use.
MAX_REVISION_DIGITS = 18


def revision_problem(value: object) -> str | None:
    """Why ``value`` is not a revision nimgen can continue (None when it is): a quoted
    string of ASCII digits, 1 or more, at most MAX_REVISION_DIGITS of them.

    The one rule for the revision annotation; ``validate`` applies it too."""
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


# A rendered ConfigMap is at most 1 MiB; allow for the header comment and YAML overhead.
_MAX_READ = 2 * MAX_OBJECT_BYTES


def read_previous(tree: Path) -> PreviousConfigMap | None:
    """The revision and digest of the ConfigMap in an output tree; None if it has none."""
    path = tree / BASE_CONFIGMAP
    if not path.is_file():
        return None
    import yaml  # only when there is a previous tree: not on the way to the first request

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        raw = handle.read(_MAX_READ + 1)
    if len(raw) > _MAX_READ:
        raise BadInput(f"{path}: larger than any ConfigMap nimgen writes")
    try:
        document = yaml.load(raw.decode("utf-8"), Loader=loader)
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise BadInput(f"{path}: not a ConfigMap nimgen wrote ({type(exc).__name__})") from exc
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise BadInput(f"{path}: not a ConfigMap nimgen wrote (not a map)")
    metadata = document.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise BadInput(f"{path}: metadata is not a map")
    annotations = metadata.get("annotations") or {}
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
