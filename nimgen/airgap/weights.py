"""Model weights for a disconnected cluster: which image's profiles to stage, and where.

NIM images ship without weights. At start-up a NIM serves a profile from its cache
(``NIM_CACHE_PATH``; the Template mounts the ``nim-pvc`` volume there, at
``/mnt/models/cache``) and downloads it from NGC otherwise, which a disconnected
cluster cannot. So, per chosen model, the air gap stages the weights of one image tag
(the one to deploy) on a connected machine, and fills a PVC with them on the cluster.

``WeightsOptions`` holds the admin's choices (project, PVC size and class, GPU models);
``plan_weights`` names each model's PVC and loader Pod. The renderers in
``nimgen.airgap.render_weights`` write the staging script and the manifests from that plan.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from nimgen.airgap.refs import Image
from nimgen.errors import BadInput
from nimgen.names import dns_label_problem, dns_subdomain_problem

DEFAULT_PROJECT = "nim-models"
DEFAULT_PVC_SIZE = "100Gi"
CACHE_MOUNT = "/mnt/models/cache"  # the Template's NIM_CACHE_PATH, where nim-pvc is mounted
PVC_PREFIX = "nim-pvc-"  # the dashboard recognises NIM caches by this prefix
LOADER_PREFIX = "nim-cache-loader-"
_NAME_MAX = 63  # a DNS label: pod names become host names
_SLUG_ROOM = _NAME_MAX - max(len(PVC_PREFIX), len(LOADER_PREFIX))
_HASH_DIGITS = 8

_QUANTITY = re.compile(r"(?P<number>[1-9][0-9]{0,8})(?P<unit>Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?")
_UNIT_BYTES = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
}
_MIN_PVC_BYTES = 2**30
_GPU_NAME = re.compile(r"[a-z0-9][a-z0-9_]{0,31}")


@dataclass(frozen=True)
class WeightsOptions:
    """Where the weights go on the cluster, and which profiles the script picks by default.

    ``gpus`` names GPU models as NIM's profile names spell them (``h100``, ``a100``,
    ``l40s``): the staging script then downloads every profile built for them.
    """

    project: str = DEFAULT_PROJECT
    pvc_size: str = DEFAULT_PVC_SIZE
    storage_class: str | None = None
    gpus: tuple[str, ...] = ()

    @property
    def pvc_bytes(self) -> int:
        return quantity_bytes(self.pvc_size)


def quantity_bytes(text: str) -> int:
    """Bytes of a Kubernetes storage quantity such as ``100Gi``; BadInput if it is not one."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise BadInput(
            f"--pvc-size {text!r} is not a storage size: a whole number with a unit "
            "such as Gi or Ti, e.g. 100Gi"
        )
    return int(match["number"]) * _UNIT_BYTES[match["unit"]]


def parse_weights_options(
    *,
    project: str = DEFAULT_PROJECT,
    pvc_size: str = DEFAULT_PVC_SIZE,
    storage_class: str | None = None,
    gpus: Iterable[str] = (),
) -> WeightsOptions:
    """Check the admin's weights options; each problem is a one-line BadInput."""
    problem = dns_label_problem(project)
    if problem is not None:
        raise BadInput(f"--project {problem}")
    size = pvc_size.strip()
    if quantity_bytes(size) < _MIN_PVC_BYTES:
        raise BadInput(f"--pvc-size {pvc_size!r} is below 1Gi, too small for any model's weights")
    if storage_class is not None:
        problem = dns_subdomain_problem(storage_class) if storage_class else "is empty"
        if problem is not None:
            raise BadInput(f"--storage-class {problem}")
    names: list[str] = []
    for gpu in gpus:
        name = gpu.strip().lower()
        if not _GPU_NAME.fullmatch(name):
            raise BadInput(
                f"--gpu {gpu!r} is not a GPU model as NIM profile names spell it "
                "(letters, digits and _, e.g. h100, a100, l40s, h100_nvl)"
            )
        if name not in names:
            names.append(name)
    return WeightsOptions(
        project=project,
        pvc_size=size,
        storage_class=storage_class or None,
        gpus=tuple(sorted(names)),
    )


@dataclass(frozen=True)
class ModelWeights:
    """One model's weights: the image whose profiles are staged, its PVC and loader Pod."""

    model: str
    display_name: str
    image: Image  # deploy this tag: its profiles are the ones staged
    pvc: str
    loader: str

    @property
    def archive(self) -> str:
        """The tar file the staging script packs the model's cache into."""
        return f"{self.model}.tar"

    def as_json(self) -> dict[str, str]:
        return {
            "model": self.model,
            "image": self.image.source,
            "tag": self.image.tag,
            "pvc": self.pvc,
            "loader": self.loader,
            "archive": self.archive,
        }


@dataclass(frozen=True)
class WeightsPlan:
    options: WeightsOptions
    models: tuple[ModelWeights, ...]  # sorted by model name


def _hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH_DIGITS]


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"
    if len(slug) > _SLUG_ROOM:
        slug = slug[: _SLUG_ROOM - _HASH_DIGITS - 1].rstrip("-") + "-" + _hash(name)
    return slug


def object_slugs(names: Iterable[str]) -> dict[str, str]:
    """A DNS-label part per model name, unique: names that would collide (``a.b``, ``a-b``)
    or are too long carry a short hash of the name, so the result never depends on order."""
    slugs = {name: _slug(name) for name in names}
    counts = Counter(slugs.values())
    for name, slug in slugs.items():
        if counts[slug] > 1:
            room = _SLUG_ROOM - _HASH_DIGITS - 1
            slugs[name] = slug[:room].rstrip("-") + "-" + _hash(name)
    return slugs


def plan_weights(options: WeightsOptions, models: Iterable[tuple[str, str, Image]]) -> WeightsPlan:
    """Name the PVC and loader of each ``(model, display name, image to deploy)``."""
    chosen = sorted(models, key=lambda m: m[0])
    slugs = object_slugs(name for name, _display, _image in chosen)
    return WeightsPlan(
        options=options,
        models=tuple(
            ModelWeights(
                model=name,
                display_name=display,
                image=image,
                pvc=PVC_PREFIX + slugs[name],
                loader=LOADER_PREFIX + slugs[name],
            )
            for name, display, image in chosen
        ),
    )
