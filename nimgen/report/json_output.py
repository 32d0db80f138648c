"""The ``--json`` document of a run: its result (or its error) in the documented schema."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from nimgen.commands.check import CheckResult
from nimgen.commands.results import (
    Collected,
    ConfigMapFacts,
    FetchResult,
    GenerateResult,
    ModelLoss,
    ProbeResult,
    RenderResult,
    Result,
    ValidateResult,
    VerifyKeyResult,
)
from nimgen.errors import NimgenError
from nimgen.eu.rule import EuOutcome
from nimgen.report import json_models as m


def dumps(document: BaseModel) -> str:
    """Sorted keys, two-space indent: the same result prints the same bytes."""
    data = document.model_dump(mode="json")
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def _collected(collected: Collected | None) -> dict[str, Any]:
    if collected is None:
        return {}
    return {
        "discovered": collected.discovered,
        "fetched": collected.fetched,
        "reused": collected.reused,
        "skippedBySelection": collected.skipped_by_selection,
        "leftOutNoTag": list(collected.left_out_no_tag),
        "failed": [m.FailedModel(name=f.name, reason=f.reason) for f in collected.failed],
        "models": collected.models,
    }


def _eu(outcome: EuOutcome) -> dict[str, Any]:
    return {
        "euRestricted": list(outcome.restricted),
        "euUncertain": list(outcome.flagged_uncertain),
        "euSource": outcome.source,
        "euUncertainReasons": dict(outcome.uncertain) or None,
    }


def _configmap(facts: ConfigMapFacts) -> m.ConfigMapJson:
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


def _loss(loss: ModelLoss | None) -> m.ModelLossJson | None:
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


def _fields(result: Result) -> dict[str, Any]:
    """The command-specific fields of a successful run."""
    if isinstance(result, GenerateResult | FetchResult):
        fields = {**_collected(result.collected), **_eu(result.eu), "output": str(result.output)}
        if isinstance(result, GenerateResult):
            fields["configMap"] = _configmap(result.configmap)
            fields["check"] = _check(result.check)
            fields["modelLoss"] = _loss(result.loss)
        return fields
    if isinstance(result, RenderResult):
        return {
            **_eu(result.eu),
            "skippedBySelection": result.skipped_by_selection,
            "models": result.models,
            "output": str(result.output),
            "configMap": _configmap(result.configmap),
            "modelLoss": _loss(result.loss),
        }
    if isinstance(result, ProbeResult):
        collected = _collected(result.collected)
        probe = result.probe
        inconclusive = [x for x in probe.models if x.status == "inconclusive"]
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
                for x in sorted(inconclusive, key=lambda x: (x.name, x.resourceId))
            ],
        }
    assert isinstance(result, VerifyKeyResult)
    return {}


def result_document(result: Result, warnings: list[str]) -> BaseModel:
    if isinstance(result, ValidateResult):
        return m.ValidateJson(
            command="validate",
            exitCode=result.exit_code,
            valid=result.valid,
            files=[m.ValidatedFile.model_validate(f) for f in result.files],
        )
    return m.MODELS[result.command].model_validate(
        {
            "command": result.command,
            "ok": True,
            "exitCode": result.exit_code,
            "warnings": _unique(warnings),
            **_fields(result),
        }
    )


def error_document(command: str, error: NimgenError, warnings: list[str]) -> BaseModel:
    """A failed run: the error, the warnings so far, and what was collected before it."""
    fields = _collected(error.collected)
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
