"""Model weights for a disconnected cluster: NIM images ship without weights and download
what their cache lacks, so per model they are staged on a connected machine and unpacked
into a PVC through a short-lived loader Pod that mounts it where the Template does."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from nimgen.airgap.refs import Image
from nimgen.errors import BadInput
from nimgen.names import dns_label_problem, dns_subdomain_problem
from nimgen.tree.template import render_jinja
from nimgen.yamlout import Node, dump

DEFAULT_PROJECT = "nim-models"
DEFAULT_PVC_SIZE = "100Gi"
CACHE_MOUNT = "/mnt/models/cache"  # the Template's NIM_CACHE_PATH, where nim-pvc is mounted
PVC_PREFIX = "nim-pvc-"  # the dashboard recognises NIM caches by this prefix
LOADER_PREFIX = "nim-cache-loader-"
STAGE_SCRIPT_FILE = "stage-weights.sh"
PVCS_FILE = "weights/pvcs.yaml"
LOADERS_FILE = "weights/loaders.yaml"
WEIGHTS_FILES = frozenset({STAGE_SCRIPT_FILE, PVCS_FILE, LOADERS_FILE})
STAGING_DIR = "nim-weights"  # the script's default --out
LABEL_COMPONENT = "app.kubernetes.io/component"
LOADER_COMPONENT = "nim-cache-loader"
LOADER_DEADLINE_SECONDS = 86400  # the loader waits for 'oc exec ... tar', a day at most

_NAME_MAX = 63  # a DNS label: pod names become host names
_SLUG_ROOM = _NAME_MAX - max(len(PVC_PREFIX), len(LOADER_PREFIX))
_HASH_DIGITS = 8
_QUANTITY = re.compile(r"(?P<number>[1-9][0-9]{0,8})(?P<unit>[KMGTP]i|[kMGTP])?")
_MIN_PVC_BYTES = 2**30
_GPU_NAME = re.compile(r"[a-z0-9][a-z0-9_]{0,31}")
_SHELL_SAFE = re.compile(r"[A-Za-z0-9._:/@-]+")  # what may reach the script unquoted
_VOLUME = "nim-pvc"


def quantity_bytes(text: str) -> int:
    """Bytes of a Kubernetes storage quantity such as ``100Gi``; BadInput if it is not one."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise BadInput(
            f"--pvc-size {text!r} is not a storage size: a whole number with a unit "
            "such as Gi or Ti, e.g. 100Gi"
        )
    unit = match["unit"] or " "
    power = " KMGTP".index(unit[0].upper())
    base = 1024 if unit.endswith("i") else 1000
    return int(match["number"]) * int(base**power)


@dataclass(frozen=True)
class WeightsOptions:
    """Where the weights go, and the GPU models (as NIM profiles spell them) to stage for."""

    project: str = DEFAULT_PROJECT
    pvc_size: str = DEFAULT_PVC_SIZE
    storage_class: str | None = None
    gpus: tuple[str, ...] = ()

    def checked(self) -> WeightsOptions:
        """The admin's options, normalised; each problem is a one-line BadInput."""
        problem = dns_label_problem(self.project)
        if problem is not None:
            raise BadInput(f"--project {problem}")
        size = self.pvc_size.strip()
        if quantity_bytes(size) < _MIN_PVC_BYTES:
            raise BadInput(
                f"--pvc-size {self.pvc_size!r} is below 1Gi, too small for any model's weights"
            )
        storage = self.storage_class
        if storage is not None:
            problem = dns_subdomain_problem(storage) if storage else "is empty"
            if problem is not None:
                raise BadInput(f"--storage-class {problem}")
        names = {gpu.strip().lower(): gpu for gpu in self.gpus}
        for name, given in names.items():
            if not _GPU_NAME.fullmatch(name):
                raise BadInput(
                    f"--gpu {given!r} is not a GPU model as NIM profile names spell it "
                    "(letters, digits and _, e.g. h100, a100, l40s, h100_nvl)"
                )
        return WeightsOptions(self.project, size, storage or None, tuple(sorted(names)))


@dataclass(frozen=True)
class ModelWeights:
    """One model's weights: the image whose profiles are staged, its PVC and loader Pod."""

    model: str
    display_name: str
    image: Image  # deploy this tag: its profiles are the ones staged
    pvc: str
    loader: str

    @property
    def archive(self) -> str:  # what the staging script packs the model's cache into
        return f"{self.model}.tar"


@dataclass(frozen=True)
class WeightsPlan:
    options: WeightsOptions
    models: tuple[ModelWeights, ...]  # sorted by model name


def object_slugs(names: Iterable[str]) -> dict[str, str]:
    """A DNS-label part per model name, unique: names that would collide (``a.b``, ``a-b``)
    or are too long carry a short hash of the name, so the result never depends on order."""

    def hashed(name: str, slug: str) -> str:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH_DIGITS]
        return f"{slug[: _SLUG_ROOM - _HASH_DIGITS - 1].rstrip('-')}-{digest}"

    slugs = {}
    for name in names:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"
        slugs[name] = slug if len(slug) <= _SLUG_ROOM else hashed(name, slug)
    counts = Counter(slugs.values())
    return {name: hashed(name, slug) if counts[slug] > 1 else slug for name, slug in slugs.items()}


def plan_weights(options: WeightsOptions, models: Iterable[tuple[str, str, Image]]) -> WeightsPlan:
    """Name the PVC and loader of each ``(model, display name, image to deploy)``."""
    chosen = sorted(models, key=lambda m: m[0])
    slugs = object_slugs(name for name, _display, _image in chosen)
    return WeightsPlan(
        options,
        tuple(
            ModelWeights(
                name, display, image, PVC_PREFIX + slugs[name], LOADER_PREFIX + slugs[name]
            )
            for name, display, image in chosen
        ),
    )


_PVC_HEADER = (
    "# Generated by nimgen airgap. One PVC per model for its NIM cache: fill it with the\n"
    f"# loader of {LOADERS_FILE}, then pick it in the dashboard's deploy form as existing\n"
    "# storage (or type its name there).\n"
)
_LOADER_HEADER = (
    "# Generated by nimgen airgap. One short-lived Pod per model that mounts its PVC at\n"
    f"# {CACHE_MOUNT} (the Template's NIM_CACHE_PATH), to unpack the staged archive:\n"
    f"#   oc exec -i -n PROJECT POD -- tar -xf - -C {CACHE_MOUNT} < MODEL.tar\n"
    "# Delete it afterwards; it stops by itself after a day. Its image is the model's own\n"
    "# NIM image (pulled through the ImageTagMirrorSet), since the cluster has it anyway.\n"
)


def _labels(component: str) -> dict[str, Node]:
    return {"app.kubernetes.io/managed-by": "nimgen", LABEL_COMPONENT: component}


def _pvc(options: WeightsOptions, model: ModelWeights) -> dict[str, Node]:
    """Labelled so the dashboard lists it (``opendatahub.io/dashboard``) and its NIM
    storage picker offers it (``opendatahub.io/nim-model-cache``)."""
    labels = _labels("nim-model-cache")
    labels |= {"opendatahub.io/dashboard": "true", "opendatahub.io/nim-model-cache": "true"}
    spec: dict[str, Node] = {
        "accessModes": ["ReadWriteOnce"],
        "volumeMode": "Filesystem",
        "resources": {"requests": {"storage": options.pvc_size}},
    }
    if options.storage_class:
        spec["storageClassName"] = options.storage_class
    annotations: dict[str, Node] = {
        "openshift.io/display-name": f"NIM cache: {model.display_name} {model.image.tag}",
        "nimgen.opendatahub.io/image": model.image.source,
        "nimgen.opendatahub.io/model": model.model,
    }
    metadata: dict[str, Node] = {"name": model.pvc, "namespace": options.project}
    metadata |= {"labels": labels, "annotations": annotations}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": spec}


def _loader(options: WeightsOptions, model: ModelWeights) -> dict[str, Node]:
    """Passes the restricted Pod Security profile (and OpenShift's restricted-v2 SCC):
    non-root, no privilege escalation, no capabilities."""
    container: dict[str, Node] = {
        "name": "loader",
        "image": model.image.source,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sleep", str(LOADER_DEADLINE_SECONDS)],
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": _VOLUME, "mountPath": CACHE_MOUNT}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": model.loader,
            "namespace": options.project,
            "labels": _labels(LOADER_COMPONENT),
            "annotations": {"nimgen.opendatahub.io/model": model.model},
        },
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": LOADER_DEADLINE_SECONDS,
            "terminationGracePeriodSeconds": 5,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
            "volumes": [{"name": _VOLUME, "persistentVolumeClaim": {"claimName": model.pvc}}],
        },
    }


def render_stage_script(plan: WeightsPlan) -> str:
    """``stage-weights.sh``: POSIX sh, every value baked in checked to need no quoting."""
    models = [{"model": m.model, "image": m.image.source} for m in plan.models]
    for value in (*(v for m in models for v in m.values()), *plan.options.gpus):
        if not _SHELL_SAFE.fullmatch(value):  # pragma: no cover - the plan checked them
            raise ValueError(f"refusing to write {value!r} into a shell script")
    return render_jinja(
        "stage-weights.sh.j2",
        models=models,
        pvc_size=plan.options.pvc_size,
        pvc_kib=quantity_bytes(plan.options.pvc_size) // 1024,
        gpus=" ".join(plan.options.gpus),
    )


def render_weights(plan: WeightsPlan) -> dict[str, str]:
    """File name -> text of the weights files."""
    options = plan.options
    pvcs = "---\n".join(dump(_pvc(options, m)) for m in plan.models)
    loaders = "---\n".join(dump(_loader(options, m)) for m in plan.models)
    return {
        STAGE_SCRIPT_FILE: render_stage_script(plan),
        PVCS_FILE: _PVC_HEADER + pvcs,
        LOADERS_FILE: _LOADER_HEADER + loaders,
    }
