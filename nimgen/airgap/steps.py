"""The admin's next steps after ``nimgen airgap``, as exact commands in order: from copying
the images to a model deployed without an NGC key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from shlex import quote

from nimgen.airgap.plan import ACCOUNT_NAME, ARCHIVE_DIR, SOURCE_REGISTRY, AirgapPlan
from nimgen.airgap.render import (
    DASHBOARD_PATCH_FILE,
    DSC_NAME,
    DSC_PATCH_FILE,
    IMAGES_FILE,
    IMAGESET_FILE,
)
from nimgen.airgap.weights import (
    CACHE_MOUNT,
    LABEL_COMPONENT,
    LOADER_COMPONENT,
    LOADERS_FILE,
    PVCS_FILE,
    STAGE_SCRIPT_FILE,
    STAGING_DIR,
    WeightsPlan,
)
from nimgen.cluster.kube import DASHBOARD_NAME

_MAX_NAMED = 5


@dataclass(frozen=True)
class NextStep:
    """One thing the admin does next, and the exact commands for it."""

    what: str
    commands: tuple[str, ...]
    alternative: bool = False  # instead of the step before it


def next_steps(plan: AirgapPlan, output: Path) -> tuple[NextStep, ...]:
    """The admin's next steps for the tree written to ``output``, as typed commands."""
    directory = output.as_posix()
    isc = quote(f"{directory}/{IMAGESET_FILE}")
    archive = f"file://{ARCHIVE_DIR}"
    mirror_sets = "ImageTagMirrorSet" + (" and ImageDigestMirrorSet" if plan.has_digests else "")
    carried = f"{ARCHIVE_DIR}/, {directory}/" + (
        f" and {STAGING_DIR}/*.tar with {STAGING_DIR}/SHA256SUMS" if plan.weights else ""
    )
    steps = [
        NextStep(
            f"on a machine that reaches {SOURCE_REGISTRY}, log in to it (user $oauthtoken, "
            f"password your NGC key) and copy the {len(plan.mirrored)} image(s) into an archive",
            (f"oc-mirror --config {isc} {archive} --v2",),
        ),
        *([_stage_step(plan.weights, directory)] if plan.weights else []),
        NextStep(
            f"carry {carried} inside, log in to "
            f"{plan.mirror.registry} and push the images to the mirror",
            (f"oc-mirror --config {isc} --from {archive} {quote(f'docker://{plan.mirror}')} --v2",),
        ),
        NextStep(
            "where one machine reaches both registries, copy the images directly instead",
            (
                'while read -r src dst; do skopeo copy --all "docker://$src" '
                f'"docker://$dst"; done < {quote(f"{directory}/{IMAGES_FILE}")}',
            ),
            alternative=True,
        ),
        NextStep(
            f"apply the ConfigMap {plan.namespace}/{plan.name} and the {mirror_sets}",
            (f"oc apply -k {quote(directory)}",),
        ),
        _dashboard_step(plan, directory),
    ]
    return tuple(steps + (_fill_steps(plan.weights, directory) if plan.weights else []))


def _dashboard_step(plan: AirgapPlan, directory: str) -> NextStep:
    """How the dashboard comes to offer the ConfigMap: through the Account's controller in
    air-gapped mode, or through ``OdhDashboardConfig.spec.nimConfig`` where its CRD has it."""
    namespace = quote(plan.namespace)
    if plan.account:
        return NextStep(
            "turn on NIM's air-gapped mode in the DataScienceCluster, so that "
            "odh-model-controller skips NGC and points the Account's status.nimConfig at "
            f"{plan.namespace}/{plan.name}; enable NIM in the dashboard if it is not (the key "
            "is not checked in this mode), then check where the Account points",
            (
                f"oc patch datasciencecluster {DSC_NAME} --type merge "
                f"--patch-file {quote(f'{directory}/{DSC_PATCH_FILE}')}",
                f"oc get account {ACCOUNT_NAME} -n {namespace} "
                "-o jsonpath='{.status.nimConfig.name}'",
            ),
        )
    return NextStep(
        "point the dashboard at the ConfigMap and turn off NGC key collection. Only a "
        "dashboard whose OdhDashboardConfig CRD defines spec.nimConfig reads this: if "
        "'oc explain' says the field does not exist, the API server prunes it from the "
        "patch, which then changes nothing; use 'nimgen airgap --account-configmap' "
        "instead (see docs/airgap.md)",
        (
            "oc explain odhdashboardconfig.spec.nimConfig",
            f"oc patch odhdashboardconfig {DASHBOARD_NAME} -n {namespace} --type merge "
            f"--patch-file {quote(f'{directory}/{DASHBOARD_PATCH_FILE}')}",
        ),
    )


def _stage_step(weights: WeightsPlan, directory: str) -> NextStep:
    script = quote(f"{directory}/{STAGE_SCRIPT_FILE}")
    what = (
        f"on that machine, with NGC_API_KEY exported (the script hands it to the NIM "
        f"container by name and never writes it down), download the weights of "
        f"{len(weights.models)} model(s) into {STAGING_DIR}/ and pack one archive per "
        "model (each profile costs about the model's size on disk, twice while packing)"
    )
    if weights.options.gpus:
        gpus = ", ".join(weights.options.gpus)
        return NextStep(f"{what}; profiles for {gpus} GPUs", (f"sh {script}",))
    what += (
        "; first list the profiles, then name the cluster's GPU model as profile names "
        "spell it (or pass --profile ID, --all-profiles)"
    )
    return NextStep(what, (f"sh {script} --list-only", f"sh {script} --gpu h100"))


def _fill_steps(weights: WeightsPlan, directory: str) -> list[NextStep]:
    options = weights.options
    project = quote(options.project)
    loaders = quote(f"{directory}/{LOADERS_FILE}")
    named = ", ".join(
        f"{m.model} with tag {m.image.tag} and storage {m.pvc}" for m in weights.models[:_MAX_NAMED]
    )
    if len(weights.models) > _MAX_NAMED:
        named += f" and {len(weights.models) - _MAX_NAMED} more (see {PVCS_FILE})"
    fill = (
        f"oc exec -i -n {project} {m.loader} -- tar -xf - -C {CACHE_MOUNT} "
        f"< {quote(f'{STAGING_DIR}/{m.archive}')}"
        for m in weights.models
    )
    return [
        NextStep(
            f"check the weights arrived whole, then create one PVC ({options.pvc_size}) "
            f"and one loader Pod per model in the project {options.project}",
            (
                f"(cd {STAGING_DIR} && sha256sum -c SHA256SUMS)",
                f"oc apply -f {quote(f'{directory}/{PVCS_FILE}')}",
                f"oc apply -f {loaders}",
                "oc wait --for=condition=Ready pod -l "
                f"{quote(f'{LABEL_COMPONENT}={LOADER_COMPONENT}')} -n {project} --timeout=30m",
            ),
        ),
        NextStep(
            f"unpack each archive into its PVC (the NIM cache, {CACHE_MOUNT}), "
            "then remove the loaders",
            (*fill, f"oc delete -f {loaders}"),
        ),
        NextStep(
            f"deploy from the dashboard's NVIDIA NIM flow in {options.project}, "
            f"without an NGC key: {named} (choose existing storage, or type the PVC's name); "
            "NIM then serves the profile from its cache",
            (f"oc get inferenceservice -n {project}",),
        ),
    ]
