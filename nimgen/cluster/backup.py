"""The backup written before anything is deleted, and read back by ``cleanup --restore``.

One YAML file per object (0600, in a 0700 directory; a re-run adds, removes nothing),
without server fields, status, finalizers or owner references to the deleted Accounts.
A Secret's values only with ``--backup-secrets``; else ``<file>.omitted.txt`` describes it."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import yaml

from nimgen.cluster.kube import ACCOUNT, KINDS, SECRET, JsonObject, Ref, Resource
from nimgen.cluster.secretdata import LAST_APPLIED
from nimgen.errors import BadInput, RunFailed
from nimgen.tree.write import check_writable_parent, write_file

SERVER_FIELDS = "uid resourceVersion creationTimestamp managedFields generation selfLink"
SERVER_FIELDS += " deletionTimestamp deletionGracePeriodSeconds finalizers"
OMITTED = ".omitted.txt"


def backup_directory(given: Path | None, command: str, checked: bool) -> Path:
    """``--backup``, else ``./nimgen-<command>-backup-<UTC time>``; ``checked``: refused now,
    before any change, when it is a file or cannot be written."""
    moment = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = given or Path(f"nimgen-{command}-backup-{moment}")
    if checked:
        check_writable_parent(directory / "README.txt", "--backup")
    return directory


def restorable(document: JsonObject, deleted_uids: frozenset[str] = frozenset()) -> JsonObject:
    """``document`` as it can be created again: no server fields, status or finalizers."""
    restored = copy.deepcopy(document)
    restored.pop("status", None)
    restored.pop("dataKeys", None)
    metadata = restored.setdefault("metadata", {})
    for name in SERVER_FIELDS.split():
        metadata.pop(name, None)
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            metadata.pop("annotations")
    owners = metadata.pop("ownerReferences", None) or ()
    if kept := [o for o in owners if o.get("uid") not in deleted_uids]:
        metadata["ownerReferences"] = kept
    return restored


def _omitted_note(ref: Ref, document: JsonObject) -> str:
    keys = document.get("dataKeys") or []
    kind = document.get("type", "Opaque")
    labels = sorted(((document.get("metadata") or {}).get("labels") or {}).items())
    head = f"# {ref} was deleted by nimgen; its values were NOT backed up (run with "
    head += f"--backup-secrets to keep them). What it was:\nname: {ref.name}\n"
    head += f"namespace: {ref.namespace}\ntype: {kind}\nkeys: {', '.join(keys) or '(none)'}\n"
    return head + "".join(f"label: {k}={v}\n" for k, v in labels)


def render_backup(documents: dict[Ref, JsonObject], deleted: frozenset[Ref]) -> dict[str, bytes]:
    """File name -> content for every object of ``documents``."""
    deleted_uids = frozenset(r.uid for r in deleted if r.uid)
    files: dict[str, bytes] = {}
    for ref in sorted(documents):
        document = documents[ref]
        name = f"{ref.resource.kind.lower()}_{ref.namespace}_{ref.name}.yaml"
        if ref.resource == SECRET and "data" not in document and "dataKeys" in document:
            files[name + OMITTED] = _omitted_note(ref, document).encode()
            continue
        why = "before deleting it" if ref in deleted else "for the record (it is kept)"
        body = yaml.safe_dump(restorable(document, deleted_uids), sort_keys=True)
        files[name] = f"# {ref}, saved by nimgen {why}\n{body}".encode()
    files["README.txt"] = (
        b"Saved by nimgen (cleanup or migrate-deployments) before it deleted the objects here.\n"
        b"Restore them with:  nimgen cleanup --restore THIS-DIRECTORY\n"
        b"A Secret saved without its values is described in <file>.omitted.txt instead.\n"
    )
    return files


def write_backup(directory: Path, files: dict[str, bytes]) -> None:
    """Write each file atomically, 0600 before it gets its name; leave other files alone."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFailed(
            f"could not make the backup directory {directory}: {exc.strerror or exc}"
        ) from None
    for name, content in sorted(files.items()):
        write_file(directory / name, content, mode=0o600)


def read_backup(directory: Path) -> tuple[list[tuple[Ref, JsonObject]], list[str]]:
    """The objects a backup holds, Accounts last (they name the others), ready to create;
    and the Secrets it recorded without their values."""
    if not directory.is_dir():
        raise BadInput(f"--restore {directory}: not a directory")
    objects: list[tuple[Ref, JsonObject]] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            resource: Resource = KINDS[document["kind"]]
        except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise BadInput(
                f"--restore {path}: not an object nimgen backs up ({type(exc).__name__})"
            ) from None
        objects.append((Ref.of(resource, document), restorable(document)))
    objects.sort(key=lambda item: (item[0].resource == ACCOUNT, item[0]))
    omitted = sorted(p.name.removesuffix(OMITTED) for p in directory.glob("*" + OMITTED))
    return objects, omitted
