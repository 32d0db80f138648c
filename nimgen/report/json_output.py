"""The ``--json`` document of a run: its result (or its error) in the documented schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from nimgen.commands import results as r
from nimgen.errors import NimgenError
from nimgen.eu.rule import EuOutcome
from nimgen.report import json_models as m
from nimgen.tree.check import CheckResult

if TYPE_CHECKING:
    from nimgen.airgap.plan import Image
    from nimgen.airgap.tags import MovingTag
    from nimgen.airgap.weights import WeightsPlan
    from nimgen.collection import Collection

# The document of a cluster command: its own fields, in no schema yet.
ClusterDocument = Mapping[str, Any]


def dumps(document: BaseModel | ClusterDocument) -> str:
    """Sorted keys, ASCII: the same result prints the same bytes in every locale."""
    data = document.model_dump(mode="json") if isinstance(document, BaseModel) else document
    return json.dumps(data, indent=2, sort_keys=True)


def _collected(collected: Collection | None) -> dict[str, Any]:
    if collected is None:
        return {}
    return {
        "discovered": collected.discovered,
        "fetched": len(collected.models) - collected.reused,
        "reused": collected.reused,
        "skippedBySelection": collected.skipped_by_selection,
        "leftOutNoTag": list(collected.no_tag),
        "failed": [m.FailedModel(name=f.name, reason=f.reason) for f in collected.failures],
        "models": len(collected.models),
    }


def _eu(outcome: EuOutcome) -> dict[str, Any]:
    return {
        "euRestricted": list(outcome.restricted),
        "euUncertain": list(outcome.flagged_uncertain),
        "euSource": outcome.source,
        "euUncertainReasons": dict(outcome.uncertain) or None,
    }


def _configmap(facts: r.ConfigMapFacts) -> m.ConfigMapJson:
    return m.ConfigMapJson(
        name=facts.name,
        digest=facts.digest,
        namespace=facts.namespace,
        sizeBytes=facts.size_bytes,
        shareOfLimit=facts.share_of_limit,
        revision=facts.revision,
        clientApplyBytes=facts.client_apply_bytes,
        shareOfClientApplyLimit=facts.share_of_client_apply_limit,
    )


def _loss(loss: r.ModelLoss | None) -> m.ModelLossJson | None:
    if loss is None:
        return None
    return m.ModelLossJson(
        previous=loss.previous,
        previousModels=loss.previous_models,
        lost=list(loss.lost),
        share=round(loss.share, 4),
        maxLossPercent=loss.max_loss_percent,
        exceeded=loss.exceeded,
    )


def _check(result: CheckResult | None) -> m.CheckJson | None:
    if result is None:
        return None
    diff = result.diff
    return m.CheckJson(
        identical=result.identical,
        treeExists=result.tree_exists,
        filesDiffer=list(result.files),
        unreadable=result.unreadable,
        added=list(diff.added_names) if diff else [],
        removed=list(diff.removed_names) if diff else [],
        changed=[m.ChangedModel(name=c.name, changes=list(c.kinds)) for c in diff.changed]
        if diff
        else [],
    )


def _image(image: Image) -> m.ImageJson:
    """A tag reference, or a digest reference with its tag and platform."""
    entry = {"source": image.source, "destination": image.destination, "model": image.model}
    if image.digest is not None:
        entry.update(tag=image.tag, digest=image.digest, platform=image.platform or "")
    return m.ImageJson.model_validate(entry)


def _moving_tag(moving: MovingTag) -> m.MovingTagJson:
    return m.MovingTagJson(
        model=moving.model,
        tags=list(moving.tags),
        pinnedTag=moving.pinned_tag,
        pinnedByDigest=moving.pinned_by_digest,
    )


def _weights(weights: WeightsPlan | None) -> m.WeightsJson | None:
    if weights is None:
        return None
    options = weights.options
    staged = [
        m.StagedModelJson(
            model=w.model,
            image=w.image.source,
            tag=w.image.tag,
            pvc=w.pvc,
            loader=w.loader,
            archive=w.archive,
        )
        for w in weights.models
    ]
    return m.WeightsJson(
        project=options.project,
        pvcSize=options.pvc_size,
        storageClass=options.storage_class,
        gpus=list(options.gpus),
        models=staged,
    )


def _airgap(result: r.AirgapResult) -> dict[str, Any]:
    plan = result.plan
    return {
        "skippedBySelection": result.skipped_by_selection,
        "models": result.models,
        "euRestricted": list(result.eu_restricted),
        "output": str(result.output),
        "configMap": _configmap(result.configmap),
        "images": [_image(i) for i in plan.mirrored],
        "files": list(result.files),
        "mirror": str(plan.mirror),
        "tags": str(plan.tags),
        "movingTags": [_moving_tag(t) for t in plan.moving_tags],
        "unpinnedMovingTags": [t.model for t in plan.unpinned],
        "weights": _weights(plan.weights),  # null (kept) under --no-weights
        "nextSteps": [asdict(s) for s in result.steps],
    }


def _probe(result: r.ProbeResult) -> dict[str, Any]:
    collected = _collected(result.collection)
    probe = result.probe
    return {
        key: collected[key]
        for key in ("discovered", "skippedBySelection", "leftOutNoTag", "failed")
    } | {
        "euRestricted": list(result.names("restricted")),
        "output": str(result.output),
        "probed": len(probe.models),
        "probedAt": probe.probedAt,
        "vantage": m.VantageJson.model_validate(probe.vantage.model_dump()),
        "euInconclusive": [
            m.InconclusiveModel(name=x.name, detail=x.detail or "", attempts=x.attempts)
            for x in result.models_with("inconclusive")
        ],
    }


def _fields(result: r.Result) -> dict[str, Any]:
    """The command-specific fields of a successful run."""
    if isinstance(result, r.ProbeResult):
        return _probe(result)
    if isinstance(result, r.AirgapResult):
        return _airgap(result)
    if not isinstance(result, r.ShippedModels):
        assert isinstance(result, r.VerifyKeyResult)
        return {}
    fields = {**_eu(result.eu), "output": str(result.output)}
    if isinstance(result, r.ShippedTree):
        fields |= {"configMap": _configmap(result.configmap), "modelLoss": _loss(result.loss)}
    if isinstance(result, r.GenerateResult | r.FetchResult):
        fields |= _collected(result.collection)
    if isinstance(result, r.GenerateResult):
        fields["check"] = _check(result.check)
    if isinstance(result, r.RenderResult):
        fields |= {"skippedBySelection": result.skipped_by_selection, "models": result.models}
    return fields


def result_document(result: r.Result, warnings: list[str]) -> BaseModel | ClusterDocument:
    if isinstance(result, r.ValidateResult):
        return m.ValidateJson(
            command="validate",
            exitCode=result.exit_code,
            valid=result.valid,
            files=[m.ValidatedFile.model_validate(f) for f in result.files],
        )
    if isinstance(result, r.ClusterResult):
        # Every warning in order, not de-duplicated: as the cluster commands always printed.
        head = {"command": result.command, "ok": result.ok, "exitCode": int(result.exit_code)}
        return {**result.document, **head, "warnings": list(warnings)}
    return m.MODELS[result.command].model_validate(
        {
            "command": result.command,
            "ok": True,
            "exitCode": result.exit_code,
            "warnings": _unique(warnings),
            **_fields(result),
        }
    )


def error_document(
    command: str, error: NimgenError, warnings: list[str]
) -> BaseModel | ClusterDocument:
    """A failed run: the error, the warnings so far, and what was collected before it."""
    if command in r.ClusterResult.COMMANDS:
        # No schema yet; errorDetails is there even when empty, as it always was.
        return {
            "command": command,
            "ok": False,
            "exitCode": int(error.exit_code),
            "error": error.message,
            "errorDetails": list(error.details),
            "warnings": list(warnings),
        }
    fields = _collected(error.collection)
    model = m.MODELS[command]
    known = {k: v for k, v in fields.items() if k in model.model_fields}
    return model.model_validate(
        {
            "command": command,
            "ok": False,
            "exitCode": int(error.exit_code),
            "error": error.message,
            "errorDetails": list(error.details) or None,
            "warnings": _unique(warnings),
            **known,
        }
    )


def _unique(warnings: list[str]) -> list[str]:
    return list(dict.fromkeys(warnings))
