"""Air-gapped clusters: which models and image tags to offer, and where the images will live.

``plan_airgap`` turns models read offline (a ``fetch`` snapshot, a ConfigMap or
an output tree, through ``nimgen.sources.snapshot.load_models``) into a frozen
``AirgapPlan``: the records of the custom ConfigMap, narrowed to the chosen
tags, and exactly one image per offered tag (plus, with ``--digests``, one
digest reference per platform of each tag, from the digests a ``fetch``
snapshot recorded). The renderers in ``nimgen.render.airgap`` write every file
from that one plan, so the ConfigMap's tags, the oc-mirror
``ImageSetConfiguration`` and ``images.txt`` cannot disagree.

Nothing here touches the network.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from nimgen.catalog import ModelRecord
from nimgen.errors import BadInput
from nimgen.selection import Selection
from nimgen.sources.snapshot import Loaded
from nimgen.tags import canonical_tags
from nimgen.validate import dns_label_problem, dns_subdomain_problem

SOURCE_REGISTRY = "nvcr.io"
DEFAULT_NAME = "custom-nim-models"
DEFAULT_NAMESPACE = "redhat-ods-applications"
ARCHIVE_DIR = "nim-mirror-archive"

# The OCI distribution reference grammar (distribution/reference).
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = re.compile(rf"(?:{_HOST_LABEL})(?:\.{_HOST_LABEL})*|\[[0-9A-Fa-f:.]+\]")
_MAX_REPOSITORY = 255
_MAX_LISTED = 20

_MIRROR_USAGE = "--mirror takes REGISTRY[/PREFIX], e.g. registry.example.com:5000/nim-mirror"


@dataclass(frozen=True)
class Mirror:
    """Where the mirrored images live: a registry host and an optional path prefix."""

    registry: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"{self.registry}/{self.prefix}" if self.prefix else self.registry

    def repository(self, path: str) -> str:
        """The mirror of ``nvcr.io/{path}``."""
        return f"{self}/{path}"


def parse_mirror(text: str) -> Mirror:
    """Check ``REGISTRY[/PREFIX]``: a host (with a dot or a port, or localhost), no scheme,
    no tag, no digest, and a lower-case path."""
    value = text.strip()
    if not value:
        raise BadInput(f"{_MIRROR_USAGE}; it is empty")
    if "://" in value:
        scheme, _, rest = value.partition("://")
        raise BadInput(
            f"--mirror {text!r}: give the registry without a scheme ({scheme}://): "
            f"--mirror {rest.rstrip('/')}"
        )
    if any(c.isspace() for c in value):
        raise BadInput(f"--mirror {text!r}: must not contain spaces. {_MIRROR_USAGE}")
    if "@" in value:
        raise BadInput(
            f"--mirror {text!r}: a digest (@...) names an image, not a place to mirror to. "
            f"{_MIRROR_USAGE}"
        )
    value = value.rstrip("/")
    host_port, _, prefix = value.partition("/")
    host, colon, port = host_port.partition(":")
    if host.startswith("[") and "]" in host_port:  # [IPv6]:port
        host, _, rest = host_port.partition("]")
        host += "]"
        colon, port = (":", rest[1:]) if rest.startswith(":") else ("", "")
    if colon and not (port.isdigit() and 0 < int(port) < 65536):
        if not prefix:
            raise BadInput(
                f"--mirror {text!r}: {port!r} is not a port; a tag is not allowed here, "
                "nimgen keeps each image's own tag. " + _MIRROR_USAGE
            )
        raise BadInput(f"--mirror {text!r}: {port!r} is not a port number. {_MIRROR_USAGE}")
    if not _HOST.fullmatch(host):
        raise BadInput(f"--mirror {text!r}: {host!r} is not a registry host name. {_MIRROR_USAGE}")
    if not (colon or "." in host or host == "localhost" or host.startswith("[")):
        raise BadInput(
            f"--mirror {text!r}: {host!r} does not look like a registry host (a registry "
            "needs a dot or a port in its name, or localhost; otherwise it is read as a "
            f"Docker Hub path). {_MIRROR_USAGE}"
        )
    if host.lower() == SOURCE_REGISTRY:
        raise BadInput(
            f"--mirror {text!r}: the mirror must be your registry, not {SOURCE_REGISTRY}"
        )
    components = prefix.split("/") if prefix else []
    for component in components:
        if ":" in component:
            raise BadInput(
                f"--mirror {text!r}: ends in a tag ({component.partition(':')[2]!r}); give "
                "only the registry and path, nimgen keeps each image's own tag. " + _MIRROR_USAGE
            )
        if not _PATH_COMPONENT.fullmatch(component):
            why = "is empty" if not component else "is not a valid repository path component"
            if component and component.lower() != component:
                why = "has upper-case letters (registry paths are lower-case)"
            raise BadInput(f"--mirror {text!r}: the path part {component!r} {why}")
    return Mirror(registry=f"{host}{':' + port if colon else ''}", prefix=prefix)


TagKind = Literal["latest", "all", "glob"]


@dataclass(frozen=True)
class TagChoice:
    """``--tags``: ``latest`` (the model's latestTag), ``all``, or a glob over tag names.

    The latestTag is always offered, so a glob only adds tags.
    """

    kind: TagKind = "latest"
    pattern: str = ""

    @classmethod
    def parse(cls, text: str) -> TagChoice:
        value = text.strip()
        if value in ("latest", "all"):
            return cls(kind=value)  # type: ignore[arg-type]
        if not value:
            raise BadInput("--tags takes latest, all, or a glob over tag names (e.g. '1.*')")
        return cls(kind="glob", pattern=value)

    def __str__(self) -> str:
        return self.pattern if self.kind == "glob" else self.kind

    def matched(self, record: ModelRecord) -> tuple[str, ...]:
        """The tags the glob matched (empty for latest and all)."""
        if self.kind != "glob":
            return ()
        return tuple(t for t in record.tags if fnmatch.fnmatchcase(t, self.pattern))

    def choose(self, record: ModelRecord) -> tuple[str, ...]:
        """The tags to offer, in canonical order, always holding latestTag."""
        if self.kind == "latest":
            return (record.latestTag,)
        if self.kind == "all":
            return canonical_tags(record.tags)
        return canonical_tags((*self.matched(record), record.latestTag))


@dataclass(frozen=True)
class Image:
    """One image to mirror: ``nvcr.io/{repository}:{tag}`` to ``{mirror}/{repository}:{tag}``.

    With ``digest`` set it is a digest reference instead, ``...{repository}@sha256:...``:
    the image of ``tag`` for one ``platform`` (``os/architecture``), pinned.
    """

    model: str
    repository: str  # "{namespace}/{name}", e.g. nim/meta/llama-3.1-8b-instruct
    tag: str
    mirror: Mirror
    digest: str | None = None
    platform: str | None = None

    @property
    def reference(self) -> str:
        """``:tag``, or ``@sha256:...`` for a digest reference."""
        return f"@{self.digest}" if self.digest else f":{self.tag}"

    @property
    def source(self) -> str:
        return f"{SOURCE_REGISTRY}/{self.repository}{self.reference}"

    @property
    def destination(self) -> str:
        return f"{self.mirror.repository(self.repository)}{self.reference}"


@dataclass(frozen=True)
class AirgapPlan:
    """Everything ``airgap`` writes, decided once."""

    source: Path
    source_kind: str
    eu_facts: str
    mirror: Mirror
    tags: TagChoice
    name: str
    namespace: str
    immutable: bool
    records: tuple[ModelRecord, ...]  # sorted by name; tags narrowed to the offered ones
    images: tuple[Image, ...]  # by tag, one per offered tag, sorted by source reference
    discovered: int
    unmatched_patterns: tuple[str, ...] = ()  # --models patterns that matched no model
    glob_misses: tuple[str, ...] = ()  # models whose tags the --tags glob did not match
    # --digests: every tag image's digest references (one per platform), in images' order.
    digest_images: tuple[Image, ...] = ()

    @property
    def orgs(self) -> tuple[str, ...]:
        """The top-level ``nvcr.io`` namespaces the images come from (``nim`` for NIMs)."""
        return tuple(sorted({r.namespace.split("/", 1)[0] for r in self.records}))

    @property
    def has_digests(self) -> bool:
        """True when the plan pins digests (``--digests``): each tag has its references."""
        return bool(self.digest_images)

    @property
    def mirrored(self) -> tuple[Image, ...]:
        """Every reference to mirror: each tag image, followed by its digest references."""
        if not self.digest_images:
            return self.images
        by_tag: dict[tuple[str, str], list[Image]] = {}
        for image in self.digest_images:
            by_tag.setdefault((image.repository, image.tag), []).append(image)
        out: list[Image] = []
        for image in self.images:
            out.append(image)
            out.extend(by_tag.get((image.repository, image.tag), ()))
        return tuple(out)

    @property
    def skipped_by_selection(self) -> int:
        return self.discovered - len(self.records)


def check_target(name: str, namespace: str) -> None:
    """Refuse a ConfigMap name or namespace Kubernetes would refuse."""
    problem = dns_subdomain_problem(name)
    if problem is not None:
        raise BadInput(f"--name {problem}")
    problem = dns_label_problem(namespace)
    if problem is not None:
        raise BadInput(f"--namespace {problem}")


def _reference_problems(record: ModelRecord, tags: tuple[str, ...]) -> list[str]:
    problems = []
    repository = f"{record.namespace}/{record.name}"
    for component in repository.split("/"):
        if not _PATH_COMPONENT.fullmatch(component):
            problems.append(
                f"{record.name}: {repository!r} is not a valid image repository "
                f"({component!r}: lower-case letters, digits and single separators only)"
            )
            break
    if len(f"{SOURCE_REGISTRY}/{repository}") > _MAX_REPOSITORY:
        problems.append(f"{record.name}: the image name is over {_MAX_REPOSITORY} characters")
    problems.extend(
        f"{record.name}: {tag!r} is not a valid image tag"
        for tag in tags
        if not _TAG.fullmatch(tag)
    )
    return problems


def plan_airgap(
    loaded: Loaded,
    *,
    mirror: Mirror,
    selection: Selection | None = None,
    tags: TagChoice | None = None,
    name: str = DEFAULT_NAME,
    namespace: str = DEFAULT_NAMESPACE,
    immutable: bool = False,
    digests: bool = False,
) -> AirgapPlan:
    """Choose the models and tags and name every image.

    With ``digests`` (``--digests``) every offered tag also gets its digest
    references, one per platform, from the digests the snapshot recorded; when
    any offered tag has none, ``BadInput`` names those images (nothing is guessed).
    """
    selection = selection or Selection()
    tags = tags or TagChoice()
    check_target(name, namespace)
    chosen_models = sorted(
        (m for m in loaded.models if selection.matches(m.record.name)),
        key=lambda m: m.record.name,
    )
    chosen = [m.record for m in chosen_models]
    names = [m.record.name for m in loaded.models]
    unmatched = tuple(
        p for p in selection.include if not any(fnmatch.fnmatchcase(n, p) for n in names)
    )
    if not chosen:
        raise BadInput(
            f"{loaded.path}: no model left after --models/--exclude/--models-file "
            f"({len(loaded.models)} in the file)"
        )
    records: list[ModelRecord] = []
    images: list[Image] = []
    pinned: dict[Image, tuple[Image, ...]] = {}
    problems: list[str] = []
    misses: list[str] = []
    for model in chosen_models:
        record = model.record
        offered = tags.choose(record)
        if tags.kind == "glob" and not tags.matched(record):
            misses.append(record.name)
        problems.extend(_reference_problems(record, offered))
        try:
            narrowed = ModelRecord.model_validate({**record.as_json_dict(), "tags": list(offered)})
        except ValidationError as exc:  # pragma: no cover - the input was a valid record
            raise BadInput(f"{record.name}: {exc.errors()[0]['msg']}") from None
        records.append(narrowed)
        repository = f"{record.namespace}/{record.name}"
        for tag in offered:
            image = Image(model=record.name, repository=repository, tag=tag, mirror=mirror)
            images.append(image)
            pinned[image] = tuple(
                Image(record.name, repository, tag, mirror, d.digest, d.platform)
                for d in model.digests_of(tag)
            )
    if problems:
        raise BadInput(
            f"{len(problems)} image reference(s) cannot be mirrored", details=tuple(problems)
        )
    images.sort(key=lambda i: i.source)
    digest_images: tuple[Image, ...] = ()
    if digests:
        _require_digests(loaded, tags, chosen, images, pinned)
        digest_images = tuple(d for image in images for d in pinned[image])
    return AirgapPlan(
        source=loaded.path,
        source_kind=loaded.kind,
        eu_facts=loaded.eu_facts,
        mirror=mirror,
        tags=tags,
        name=name,
        namespace=namespace,
        immutable=immutable,
        records=tuple(records),
        images=tuple(images),
        discovered=len(loaded.models),
        unmatched_patterns=unmatched,
        glob_misses=tuple(misses),
        digest_images=digest_images,
    )


def _require_digests(
    loaded: Loaded,
    tags: TagChoice,
    chosen: list[ModelRecord],
    images: list[Image],
    pinned: dict[Image, tuple[Image, ...]],
) -> None:
    """``--digests``: refuse unless every offered tag has a recorded digest (exit 2)."""
    missing = [image for image in images if not pinned[image]]
    if not missing:
        return
    if not any(m.digests for m in loaded.models):
        if loaded.kind == "snapshot":
            why = (
                "records no image digests (it was written before nimgen recorded them); "
                "take a new snapshot with 'nimgen fetch' (add --full if you pass --previous)"
            )
        else:
            why = (
                "records no image digests (a ConfigMap holds tags only); give a "
                "snapshot from 'nimgen fetch'"
            )
        raise BadInput(
            f"--digests: {loaded.path} {why}, or drop --digests to mirror by tag; "
            "no ImageDigestMirrorSet is written without them"
        )
    latest = {r.name: r.latestTag for r in chosen}
    hints = []
    if any(i.tag != latest[i.model] for i in missing):
        hints.append(
            f"snapshots record only each model's latestTag digests, and --tags {tags} "
            "offers other tags: use --tags latest"
        )
    without = sorted({i.model for i in missing if i.tag == latest[i.model]})
    if without:
        hints.append(
            f"NGC reported no digest for the latestTag of {len(without)} model(s): fetch "
            "a new snapshot, leave them out with --exclude, or drop --digests"
        )
    hint = "; ".join(hints)
    listed = [f"{i.source}: no digest recorded" for i in missing[:_MAX_LISTED]]
    if len(missing) > _MAX_LISTED:
        listed.append(f"... and {len(missing) - _MAX_LISTED} more")
    raise BadInput(
        f"--digests: no digest is known for {len(missing)} of {len(images)} image(s); {hint} "
        "(digests are never guessed)",
        details=tuple(listed),
    )


@dataclass(frozen=True)
class NextStep:
    """One thing the admin does next, and the exact command for it."""

    what: str
    commands: tuple[str, ...]
    alternative: bool = False  # instead of the mirroring steps before it


def next_steps(plan: AirgapPlan, output: Path) -> tuple[NextStep, ...]:
    """The admin's next steps for the tree written to ``output``, as typed commands."""
    directory = output.as_posix()
    isc = shlex.quote(f"{directory}/imageset-config.yaml")
    images = shlex.quote(f"{directory}/images.txt")
    archive = f"file://{ARCHIVE_DIR}"
    target = shlex.quote(f"docker://{plan.mirror}")
    patch = shlex.quote(f"{directory}/odhdashboardconfig-patch.yaml")
    mirror_sets = "ImageTagMirrorSet" + (" and ImageDigestMirrorSet" if plan.has_digests else "")
    return (
        NextStep(
            f"on a machine that reaches {SOURCE_REGISTRY}, log in to it (user $oauthtoken, "
            f"password your NGC key) and copy the {len(plan.mirrored)} image(s) into an archive",
            (f"oc-mirror --config {isc} {archive} --v2",),
        ),
        NextStep(
            f"carry {ARCHIVE_DIR}/ and {directory}/ inside, log in to "
            f"{plan.mirror.registry} and push the images to the mirror",
            (f"oc-mirror --config {isc} --from {archive} {target} --v2",),
        ),
        NextStep(
            "where one machine reaches both registries, copy the images directly instead",
            (
                f'while read -r src dst; do skopeo copy --all "docker://$src" '
                f'"docker://$dst"; done < {images}',
            ),
            alternative=True,
        ),
        NextStep(
            f"apply the ConfigMap {plan.namespace}/{plan.name} and the {mirror_sets}",
            (f"oc apply -k {shlex.quote(directory)}",),
        ),
        NextStep(
            "point the dashboard at the ConfigMap and turn off NGC key collection",
            (
                f"oc patch odhdashboardconfig odh-dashboard-config -n "
                f"{shlex.quote(plan.namespace)} --type merge --patch-file {patch}",
            ),
        ),
    )
