"""Air-gapped clusters: which models and image tags to offer, and where the images will live.

``plan_airgap`` turns models read offline (a ``fetch`` snapshot, a ConfigMap or
an output tree, through ``nimgen.snapshot.load_models``) into a frozen
``AirgapPlan``: the records of the custom ConfigMap, narrowed to the chosen
tags, and exactly one image per offered tag (plus, with ``--digests``, one
digest reference per platform of each tag, from the digests a ``fetch``
snapshot recorded). A model that offers a moving tag (``latest``) also gets its
newest version tag (and, with ``--digests``, the moving tag's digests pinned); the
plan names every such model. Unless told otherwise it also plans the model weights
(``nimgen.airgap.weights``): NIM images carry none. The renderers in
``nimgen.airgap.render`` write every file from that one plan, so the ConfigMap's
tags, the oc-mirror ``ImageSetConfiguration``, ``images.txt`` and the weights
staging cannot disagree.

Nothing here touches the network, and nothing here builds shell text (that is
``nimgen.airgap.steps``).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from nimgen.airgap.refs import SOURCE_REGISTRY, Image, Mirror, parse_mirror, reference_problems
from nimgen.airgap.tags import MovingTag, TagChoice, is_moving_tag, newest_version_tag
from nimgen.airgap.weights import WeightsOptions, WeightsPlan, plan_weights
from nimgen.catalog import ModelRecord, SnapshotModel
from nimgen.errors import BadInput
from nimgen.names import dns_label_problem, dns_subdomain_problem
from nimgen.selection import Selection
from nimgen.snapshot import Loaded
from nimgen.tags import canonical_tags

__all__ = [
    "ARCHIVE_DIR",
    "DEFAULT_NAME",
    "DEFAULT_NAMESPACE",
    "SOURCE_REGISTRY",
    "AirgapPlan",
    "Image",
    "Mirror",
    "MovingTag",
    "TagChoice",
    "check_target",
    "parse_mirror",
    "plan_airgap",
]

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

    source: Path
    source_kind: str
    eu_facts: str
    mirror: Mirror
    tags: TagChoice
    name: str
    namespace: str
    immutable: bool
    # --account-configmap: the ConfigMap an Account's controller reads in air-gapped mode,
    # turned on by a DataScienceCluster patch (not the OdhDashboardConfig one).
    account: bool
    records: tuple[ModelRecord, ...]  # sorted by name; tags narrowed to the offered ones
    images: tuple[Image, ...]  # by tag, one per offered tag, sorted by source reference
    discovered: int
    unmatched_patterns: tuple[str, ...] = ()  # --models patterns that matched no model
    glob_misses: tuple[str, ...] = ()  # models whose tags the --tags glob did not match
    # --digests: every tag image's digest references (one per platform), in images' order.
    digest_images: tuple[Image, ...] = ()
    # Models offering a moving tag (latest), by name, and what pins each.
    moving_tags: tuple[MovingTag, ...] = ()
    # The weights to stage, per model (None with --no-weights).
    weights: WeightsPlan | None = None

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

    @property
    def unpinned(self) -> tuple[MovingTag, ...]:
        """Models whose moving tag is pinned by nothing: no version tag, no digest."""
        return tuple(m for m in self.moving_tags if not m.pinned)


def check_target(name: str, namespace: str) -> None:
    """Refuse a ConfigMap name or namespace Kubernetes would refuse."""
    problem = dns_subdomain_problem(name)
    if problem is not None:
        raise BadInput(f"--name {problem}")
    problem = dns_label_problem(namespace)
    if problem is not None:
        raise BadInput(f"--namespace {problem}")


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
    """Choose the models and tags and name every image.

    With ``digests`` (``--digests``) every offered tag also gets its digest
    references, one per platform, from the digests the snapshot recorded; when
    any offered tag has none, ``BadInput`` names those images (nothing is guessed).
    A model offering a moving tag also offers its newest version tag (mirrored by
    tag, even under ``digests``).
    With ``weights`` each model's weights are planned for the tag to deploy: the
    latestTag, or the version tag pinned beside a moving latestTag.
    """
    selection = selection or Selection()
    tags = tags or TagChoice()
    if account and name not in (None, ACCOUNT_CONFIGMAP):
        raise BadInput(f"--account-configmap writes {ACCOUNT_CONFIGMAP}, the only name the "
                       f"controller reads; leave out --name {name}")  # fmt: skip
    if account and immutable:
        raise BadInput("--account-configmap writes a ConfigMap you refill in place: "
                       "leave out --immutable")  # fmt: skip
    name = name or (ACCOUNT_CONFIGMAP if account else DEFAULT_NAME)
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
    moving_tags: list[MovingTag] = []
    deploy: list[tuple[str, str, Image]] = []
    pinning: set[Image] = set()  # version tags added beside moving ones: no digest needed
    for model in chosen_models:
        record = model.record
        offered, moving, added = _offer(model, tags.choose(record), digests=digests)
        if moving is not None:
            moving_tags.append(moving)
        if tags.kind == "glob" and not tags.matched(record):
            misses.append(record.name)
        problems.extend(reference_problems(record, offered))
        try:
            narrowed = record.replace(tags=tuple(offered))
        except ValueError as exc:  # pragma: no cover - the input was a valid record
            raise BadInput(f"{record.name}: {exc}") from None
        records.append(narrowed)
        repository = f"{record.namespace}/{record.name}"
        deploy_tag = record.latestTag
        if moving is not None and moving.pinned_tag and is_moving_tag(deploy_tag):
            deploy_tag = moving.pinned_tag
        deploy.append(
            (record.name, record.displayName, Image(record.name, repository, deploy_tag, mirror))
        )
        for tag in offered:
            image = Image(model=record.name, repository=repository, tag=tag, mirror=mirror)
            images.append(image)
            if tag == added:
                pinning.add(image)
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
        _require_digests(loaded, tags, chosen, [i for i in images if i not in pinning], pinned)
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
        account=account,
        records=tuple(records),
        images=tuple(images),
        discovered=len(loaded.models),
        unmatched_patterns=unmatched,
        glob_misses=tuple(misses),
        digest_images=digest_images,
        moving_tags=tuple(moving_tags),
        weights=plan_weights(weights, deploy) if weights is not None else None,
    )


def _offer(
    model: SnapshotModel, offered: tuple[str, ...], *, digests: bool
) -> tuple[tuple[str, ...], MovingTag | None, str | None]:
    """The tags to offer, how the moving ones among them are pinned, and the tag added
    to pin them (None when none was added).

    A model offering a moving tag also offers its newest version tag, so there is a
    fixed tag to deploy. Under ``--digests`` the moving tag's recorded digests pin it
    as well (one without any is refused later, by ``_require_digests``); the added
    version tag is mirrored by tag only, since snapshots record only the latestTag's
    digests.
    """
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
