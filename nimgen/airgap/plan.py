"""The air gap's plan: the models and image tags to offer, and where the images will live.
Every file comes from this one plan, so the ConfigMap, mirror lists and weights agree."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nimgen.airgap.refs import SOURCE_REGISTRY, Image, Mirror, parse_mirror, reference_problems
from nimgen.airgap.tags import MovingTag, TagChoice, is_moving_tag, newest_version_tag
from nimgen.airgap.weights import WeightsOptions, WeightsPlan, plan_weights
from nimgen.catalog import ModelRecord, SnapshotModel
from nimgen.errors import BadInput
from nimgen.names import dns_label_problem, dns_subdomain_problem
from nimgen.selection import Selection
from nimgen.snapshot import Loaded
from nimgen.tags import canonical_tags

__all__ = ["SOURCE_REGISTRY", "Image", "Mirror", "MovingTag", "TagChoice", "parse_mirror"]

DEFAULT_NAME = "custom-nim-models"
DEFAULT_NAMESPACE = "redhat-ods-applications"
# The Account the dashboard creates (odh-dashboard nimUtils.ts, NIM_ACCOUNT_NAME), and the
# ConfigMap odh-model-controller points its status.nimConfig at in air-gapped mode
# ("<account>-cm", handlers/configmap_handler.go): see docs/airgap.md.
ACCOUNT_NAME = "odh-nim-account"
ACCOUNT_CONFIGMAP = f"{ACCOUNT_NAME}-cm"
ARCHIVE_DIR = "nim-mirror-archive"
_MAX_LISTED = 20


@dataclass(frozen=True)
class AirgapPlan:
    """Everything ``airgap`` writes, decided once."""

    eu_facts: str
    mirror: Mirror
    tags: TagChoice
    name: str
    namespace: str
    immutable: bool
    account: bool  # --account-configmap: for the Account era's air-gapped mode
    records: tuple[ModelRecord, ...]  # sorted by name; tags narrowed to the offered ones
    images: tuple[Image, ...]  # one per offered tag, sorted by source reference
    mirrored: tuple[Image, ...]  # each image, then (--digests) one digest per platform
    discovered: int
    unmatched_patterns: tuple[str, ...] = ()  # --models patterns that matched no model
    glob_misses: tuple[str, ...] = ()  # models whose tags the --tags glob did not match
    moving_tags: tuple[MovingTag, ...] = ()  # models offering a moving tag, and what pins it
    weights: WeightsPlan | None = None  # None with --no-weights

    @property
    def orgs(self) -> tuple[str, ...]:
        """nvcr.io's top-level namespaces (nim for NIMs)."""
        return tuple(sorted({r.namespace.split("/", 1)[0] for r in self.records}))

    @property
    def has_digests(self) -> bool:
        return len(self.mirrored) > len(self.images)

    @property
    def skipped_by_selection(self) -> int:
        return self.discovered - len(self.records)

    @property
    def unpinned(self) -> tuple[MovingTag, ...]:
        """Models whose moving tag is pinned by nothing: no version tag, no digest."""
        return tuple(m for m in self.moving_tags if not m.pinned)


def plan_airgap(
    loaded: Loaded,
    *,
    mirror: Mirror,
    selection: Selection | None = None,
    tags: TagChoice | None = None,
    name: str | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    immutable: bool = False,
    account: bool = False,
    digests: bool = False,
    weights: WeightsOptions | None = None,
) -> AirgapPlan:
    """Choose the models and tags and name every image; with ``digests``, a tag without a
    recorded digest is bad input (nothing is guessed)."""
    selection = selection or Selection()
    tags = tags or TagChoice()
    if account and name not in (None, ACCOUNT_CONFIGMAP):
        raise BadInput(
            f"--account-configmap writes {ACCOUNT_CONFIGMAP}, the only name the "
            f"controller reads; leave out --name {name}"
        )
    if account and immutable:
        raise BadInput(
            "--account-configmap writes a ConfigMap you refill in place: leave out --immutable"
        )
    name = name or (ACCOUNT_CONFIGMAP if account else DEFAULT_NAME)
    for option, problem in (
        ("--name", dns_subdomain_problem(name)),
        ("--namespace", dns_label_problem(namespace)),
    ):
        if problem is not None:
            raise BadInput(f"{option} {problem}")
    chosen = sorted(
        (m for m in loaded.models if selection.matches(m.record.name)), key=lambda m: m.record.name
    )
    if not chosen:
        raise BadInput(
            f"{loaded.path}: no model left after --models/--exclude/--models-file "
            f"({len(loaded.models)} in the file)"
        )
    records: list[ModelRecord] = []
    images: list[Image] = []
    pins: dict[Image, tuple[Image, ...]] = {}
    pinnable: list[Image] = []  # what --digests pins: not the version tags added beside
    problems: list[str] = []
    moving_tags: list[MovingTag] = []
    deploy: list[tuple[str, str, Image]] = []
    for model in chosen:
        record = model.record
        offered, moving, added = _offer(model, tags.choose(record), digests=digests)
        problems.extend(reference_problems(record, offered))
        records.append(record.replace(tags=offered))
        repository = f"{record.namespace}/{record.name}"
        for tag in offered:
            image = Image(record.name, repository, tag, mirror)
            images.append(image)
            recorded = model.digests_of(tag)
            pins[image] = tuple(
                replace(image, digest=d.digest, platform=d.platform) for d in recorded
            )
            if tag != added:
                pinnable.append(image)
        deploy_tag = record.latestTag
        if moving is not None:
            moving_tags.append(moving)
            if moving.pinned_tag and is_moving_tag(deploy_tag):
                deploy_tag = moving.pinned_tag
        deploy_image = Image(record.name, repository, deploy_tag, mirror)
        deploy.append((record.name, record.displayName, deploy_image))
    if problems:
        raise BadInput(
            f"{len(problems)} image reference(s) cannot be mirrored", details=tuple(problems)
        )
    images.sort(key=lambda i: i.source)
    if digests:
        missing = [i for i in pinnable if not pins[i]]
        _require_digests(loaded, tags, records, missing, len(pinnable))
    return AirgapPlan(
        eu_facts=loaded.eu_facts,
        mirror=mirror,
        tags=tags,
        name=name,
        namespace=namespace,
        immutable=immutable,
        account=account,
        records=tuple(records),
        images=tuple(images),
        mirrored=tuple(ref for i in images for ref in (i, *(pins[i] if digests else ()))),
        discovered=len(loaded.models),
        unmatched_patterns=selection.unmatched([m.record.name for m in loaded.models]),
        glob_misses=tuple(
            m.record.name for m in chosen if tags.kind == "glob" and not tags.matched(m.record)
        ),
        moving_tags=tuple(moving_tags),
        weights=plan_weights(weights, deploy) if weights is not None else None,
    )


def _offer(
    model: SnapshotModel, offered: tuple[str, ...], *, digests: bool
) -> tuple[tuple[str, ...], MovingTag | None, str | None]:
    """The tags to offer, how the moving ones are pinned, and the version tag added beside
    them, if any (mirrored by tag only: snapshots record only the latestTag's digests)."""
    moving = tuple(t for t in offered if is_moving_tag(t))
    if not moving:
        return offered, None, None
    by_digest = digests and all(model.digests_of(t) for t in moving)
    newest = newest_version_tag(model.record.tags)
    added = newest if newest is not None and newest not in offered else None
    if added is not None:
        offered = canonical_tags((*offered, added))
    return offered, MovingTag(model.record.name, moving, newest, by_digest), added


def _require_digests(
    loaded: Loaded, tags: TagChoice, records: list[ModelRecord], missing: list[Image], total: int
) -> None:
    """``--digests``: refuse unless every offered tag has a recorded digest (exit 2)."""
    if not missing:
        return
    missing.sort(key=lambda i: i.source)
    if not any(m.digests for m in loaded.models):
        why = (
            "records no image digests (it was written before nimgen recorded them); "
            "take a new snapshot with 'nimgen fetch' (add --full if you pass --previous)"
            if loaded.kind == "snapshot"
            else "records no image digests (a ConfigMap holds tags only); give a "
            "snapshot from 'nimgen fetch'"
        )
        raise BadInput(
            f"--digests: {loaded.path} {why}, or drop --digests to mirror by tag; "
            "no ImageDigestMirrorSet is written without them"
        )
    latest = {r.name: r.latestTag for r in records}
    hints = []
    if any(i.tag != latest[i.model] for i in missing):
        hints.append(
            f"snapshots record only each model's latestTag digests, and --tags {tags} "
            "offers other tags: use --tags latest"
        )
    without = {i.model for i in missing if i.tag == latest[i.model]}
    if without:
        hints.append(
            f"NGC reported no digest for the latestTag of {len(without)} model(s): fetch "
            "a new snapshot, leave them out with --exclude, or drop --digests"
        )
    listed = [f"{i.source}: no digest recorded" for i in missing[:_MAX_LISTED]]
    if len(missing) > _MAX_LISTED:
        listed.append(f"... and {len(missing) - _MAX_LISTED} more")
    raise BadInput(
        f"--digests: no digest is known for {len(missing)} of {total} image(s); "
        f"{'; '.join(hints)} (digests are never guessed)",
        details=tuple(listed),
    )
