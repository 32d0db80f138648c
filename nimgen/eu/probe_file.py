"""The files that carry EU facts: the probe file ``nimgen probe-eu`` writes (``EuProbe``),
and the flat list ``[{name, resourceId, org, team}]`` older tooling wrote (listed =
restricted, no coverage recorded); ``load_eu_list`` reads either for ``--eu-list``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from nimgen.catalog import EuStatus, EuStatusName, Value
from nimgen.errors import BadInput, validation_reason
from nimgen.eu.rule import EuFacts, probe_file_source
from nimgen.files import JSON_MAX_BYTES, decode_utf8, read_regular_file
from nimgen.yamlio import load_json

if TYPE_CHECKING:
    from nimgen.eu.proxy import ProxyUrl

PROBE_KIND = "NimgenEuProbe"
PROBE_VERSION = 1


class ProbeVantage(Value):
    """Where the probe's requests came from: this machine, or an HTTP(S) proxy."""

    kind: Literal["local", "proxy"]
    proxy: StrictStr | None = None  # the proxy URL, any credentials replaced by ***
    apiUrl: StrictStr  # the NGC API base URL that was probed


class ProbedModel(Value):
    """HTTP 451 restricted, 200 available, else inconclusive (``detail``: the last answer)."""

    name: StrictStr = Field(min_length=1)
    resourceId: StrictStr = Field(min_length=1)
    status: EuStatusName
    detail: StrictStr | None = None
    attempts: StrictInt = Field(ge=0)  # requests made for this model


class EuProbe(Value):
    """The versioned JSON document ``nimgen probe-eu`` writes and ``--eu-list`` reads."""

    kind: Literal["NimgenEuProbe"] = "NimgenEuProbe"
    version: int = Field(default=PROBE_VERSION, ge=1, le=PROBE_VERSION)
    probedAt: StrictStr
    vantage: ProbeVantage
    models: tuple[ProbedModel, ...]


def probe_json(probe: EuProbe) -> bytes:
    """The probe file: models sorted, ASCII, so it is deterministic apart from ``probedAt``."""
    ordered = probe.replace(models=sorted(probe.models, key=lambda m: (m.name, m.resourceId)))
    return ordered.json_text().encode("ascii")


def build_probe(
    statuses: Mapping[str, EuStatus],
    attempts: Mapping[str, int],
    *,
    probed_at: str,
    api_url: str,
    proxy: ProxyUrl | None,
) -> EuProbe:
    vantage = ProbeVantage(
        kind="local" if proxy is None else "proxy",
        proxy=None if proxy is None else proxy.redacted,
        apiUrl=api_url,
    )
    models = tuple(
        ProbedModel(
            name=rid.rsplit("/", 1)[-1],
            resourceId=rid,
            status=status.status,
            detail=status.detail if status.status == "inconclusive" else None,
            attempts=attempts.get(rid, 0),
        )
        for rid, status in statuses.items()
    )
    return EuProbe(probedAt=probed_at, vantage=vantage, models=models)


class _LegacyEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: StrictStr = Field(min_length=1)
    resourceId: StrictStr = Field(min_length=1)
    org: StrictStr | None = None
    team: StrictStr | None = None


def load_eu_list(path: Path) -> EuFacts:
    raw = read_regular_file(path, what="the EU list", max_bytes=JSON_MAX_BYTES)
    digest = hashlib.sha256(raw).hexdigest()
    document = load_json(decode_utf8(raw, label=str(path)), source=str(path))
    if isinstance(document, list):
        return _load_flat_list(path, document, digest)
    if isinstance(document, dict) and document.get("kind") == PROBE_KIND:
        return _load_probe(path, document, digest)
    raise BadInput(
        f"{path}: neither a nimgen EU probe file (kind {PROBE_KIND!r}) nor a flat list "
        "of {name, resourceId} objects"
    )


def _load_probe(path: Path, document: dict[str, Any], digest: str) -> EuFacts:
    version = document.get("version")
    if isinstance(version, int) and version > PROBE_VERSION:
        raise BadInput(
            f"{path}: EU probe file version {version} is newer than this nimgen reads "
            f"(up to {PROBE_VERSION}); upgrade nimgen"
        )
    try:
        probe = EuProbe.model_validate(document)
    except ValidationError as exc:
        raise BadInput(f"{path}: invalid EU probe file: {validation_reason(exc)}") from None
    statuses: dict[str, EuStatus] = {}
    names: dict[str, str] = {}
    for model in probe.models:
        if model.resourceId in statuses:
            raise BadInput(f"{path}: the resource {model.resourceId!r} appears twice")
        statuses[model.resourceId] = EuStatus(status=model.status, detail=model.detail)
        names[model.resourceId] = model.name
    return EuFacts(
        kind="probe-file",
        source=probe_file_source(digest, probe.probedAt),
        coverage=True,
        statuses=statuses,
        names=names,
        label=f"the EU probe file {path}",
        probed_at=probe.probedAt,
        api_url=probe.vantage.apiUrl,
    )


def _load_flat_list(path: Path, document: list[Any], digest: str) -> EuFacts:
    statuses: dict[str, EuStatus] = {}
    names: dict[str, str] = {}
    for index, item in enumerate(document):
        try:
            entry = _LegacyEntry.model_validate(item)
        except ValidationError as exc:
            raise BadInput(f"{path}: item {index}: {validation_reason(exc)}") from None
        statuses[entry.resourceId] = EuStatus(status="restricted")
        names[entry.resourceId] = entry.name
    warning = (
        f"{path} is a flat EU list: it names the restricted models but records no probe "
        "coverage, so every model it does not name is taken as available in the EU "
        "(a probe file from 'nimgen probe-eu' records coverage)"
    )
    return EuFacts(
        kind="flat-list",
        source=f"flat-list sha256:{digest}",
        coverage=False,
        statuses=statuses,
        names=names,
        label=f"the flat EU list {path}",
        warnings=(warning,),
    )
