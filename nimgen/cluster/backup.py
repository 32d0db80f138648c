"""The backup ``cleanup --apply`` writes before it changes anything.

One plain YAML file per object, which ``kubectl apply -f DIR`` restores: the
server's bookkeeping is stripped (uid, resourceVersion, creationTimestamp,
managedFields, generation, selfLink, deletion marks, status), as are finalizers (a
restored Account must not bring the trap back; the old controller re-adds its
finalizer if it is ever reinstated) and owner references to the deleted Account (the
garbage collector would delete a restored object whose owner no longer exists).

Secret values go into the backup only with ``--backup-secrets``; otherwise a Secret
is recorded, name, type, labels and key names, in ``<file>.omitted.txt``, which
``kubectl apply`` ignores (it reads .yaml, .yml and .json only). Files are written
one by one, atomically, readable only by their owner, and a re-run adds to the same
directory without removing what an earlier run saved.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml

from nimgen.cluster.kube import SECRET, JsonObject, Ref
from nimgen.errors import BadInput, RunFailed

SERVER_FIELDS = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "managedFields",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
README = "README.txt"


def default_directory(now: datetime | None = None) -> Path:
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(f"nimgen-cleanup-backup-{moment}")


def restorable(document: JsonObject, deleted_uids: frozenset[str]) -> JsonObject:
    """``document`` as ``kubectl apply`` can re-create it."""
    restored = copy.deepcopy(document)
    restored.pop("status", None)
    restored.pop("dataKeys", None)
    metadata = restored.setdefault("metadata", {})
    for name in SERVER_FIELDS:
        metadata.pop(name, None)
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            metadata.pop("annotations")
    owners = [o for o in metadata.get("ownerReferences") or [] if o.get("uid") not in deleted_uids]
    if owners:
        metadata["ownerReferences"] = owners
    else:
        metadata.pop("ownerReferences", None)
    return restored


def file_name(ref: Ref) -> str:
    return f"{ref.resource.kind.lower()}_{ref.namespace}_{ref.name}.yaml"


def _omitted_note(ref: Ref, document: JsonObject) -> str:
    metadata = document.get("metadata") or {}
    keys = document.get("dataKeys") or []
    lines = [
        f"# {ref} was deleted by nimgen cleanup; its values were NOT backed up",
        "# (run with --backup-secrets to keep them). What it was:",
        f"name: {ref.name}",
        f"namespace: {ref.namespace}",
        f"type: {document.get('type', 'Opaque')}",
        f"keys: {', '.join(keys) if keys else '(none)'}",
    ]
    for key, value in sorted((metadata.get("labels") or {}).items()):
        lines.append(f"label: {key}={value}")
    if keys:
        from_files = " ".join(f"--from-file={k}=PATH" for k in keys)
        lines.append(
            f"# to re-create it: kubectl create secret generic {ref.name} -n {ref.namespace} "
            f"--type={document.get('type', 'Opaque')} {from_files}"
        )
    return "\n".join(lines) + "\n"


def render_backup(documents: dict[Ref, JsonObject], deleted: frozenset[Ref]) -> dict[str, bytes]:
    """File name -> content for every object of ``documents`` (deleted or kept for the
    record). Secrets whose values were dropped become ``.omitted.txt`` notes."""
    deleted_uids = frozenset(r.uid for r in deleted if r.uid)
    files: dict[str, bytes] = {}
    for ref in sorted(documents):
        document = documents[ref]
        name = file_name(ref)
        if ref.resource == SECRET and "data" not in document and "dataKeys" in document:
            files[name + ".omitted.txt"] = _omitted_note(ref, document).encode()
            continue
        body = yaml.safe_dump(
            restorable(document, deleted_uids), default_flow_style=False, sort_keys=True
        )
        why = "before deleting it" if ref in deleted else "for the record (it is kept)"
        header = f"# {ref}, saved by nimgen cleanup {why}\n"
        files[name] = (header + body).encode("utf-8")
    files[README] = (
        b"Saved by 'nimgen cleanup --apply' before it deleted the objects listed here.\n"
        b"Restore them with:  kubectl apply -f THIS-DIRECTORY\n"
        b"(the Account CRD accounts.nim.opendatahub.io must still be installed to restore "
        b"an Account).\n"
        b"A Secret saved without its values is described in <file>.omitted.txt instead.\n"
    )
    return files


def check_directory(directory: Path) -> None:
    """Refuse a backup target that is a file or cannot be created."""
    if directory.exists() and not directory.is_dir():
        raise BadInput(f"--backup {directory} is a file, not a directory")
    parent = directory.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent if not directory.exists() else directory, os.W_OK):
        raise BadInput(f"--backup {directory}: not writable")


def write_backup(directory: Path, files: dict[str, bytes]) -> None:
    """Write every file atomically (temp file, fsync, rename), mode 0600, into a 0700
    directory; files already there from an earlier run are left alone."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, content in sorted(files.items()):
            fd, temp_name = tempfile.mkstemp(prefix=".nimgen-tmp-", dir=directory)
            temp = Path(temp_name)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                temp.replace(directory / name)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise RunFailed(
            f"could not write the backup to {directory}: {exc.strerror or exc}; "
            "nothing on the cluster was changed"
        ) from None
