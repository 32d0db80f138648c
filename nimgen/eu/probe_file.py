"""The files that carry EU facts: nimgen's probe file, and the flat list older tooling wrote.

``nimgen probe-eu`` records what an EU vantage saw in a versioned probe file
(``EuProbe``): when, from where, against which NGC API, and per model its status.
``load_eu_list`` reads it back for ``--eu-list``, and also accepts the flat list
``[{name, resourceId, org, team}]`` (listed = restricted, no coverage recorded).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from nimgen.catalog import EuStatus, EuStatusName
from nimgen.errors import BadInput, validation_reason
from nimgen.eu.rule import EuFacts, probe_file_source

if TYPE_CHECKING:
    from nimgen.eu.proxy import ProxyUrl

PROBE_KIND = "NimgenEuProbe"
PROBE_VERSION = 1

_Frozen = ConfigDict(frozen=True, extra="forbid")


class ProbeVantage(BaseModel):
    """Where the probe's requests came from."""

    model_config = _Frozen

    kind: Literal["local", "proxy"] = Field(
        description="'local': the machine nimgen ran on; 'proxy': through an HTTP(S) proxy."
    )
    proxy: StrictStr | None = Field(
        default=None, description="The proxy URL, any credentials replaced by ***."
    )
    apiUrl: StrictStr = Field(description="The NGC API base URL that was probed.")


class ProbedModel(BaseModel):
    """What the vantage saw for one model."""

    model_config = _Frozen

    name: StrictStr = Field(min_length=1)
    resourceId: StrictStr = Field(min_length=1)
    status: EuStatusName = Field(
        description="'restricted' (HTTP 451), 'available' (HTTP 200), or 'inconclusive' "
        "(anything else after retries)."
    )
    detail: StrictStr | None = Field(
        default=None, description="For 'inconclusive': the last status or error."
    )
    attempts: StrictInt = Field(ge=0, description="Requests made for this model.")


class EuProbe(BaseModel):
    """The versioned JSON document ``nimgen probe-eu`` writes and ``--eu-list`` reads."""

    model_config = _Frozen

    kind: Literal["NimgenEuProbe"] = "NimgenEuProbe"
    version: Annotated[int, Field(ge=1, le=PROBE_VERSION)] = PROBE_VERSION
    probedAt: StrictStr
    vantage: ProbeVantage
    models: tuple[ProbedModel, ...]


def probe_json(probe: EuProbe) -> bytes:
    """The probe file: models sorted, ASCII, so it is deterministic apart from ``probedAt``."""
    ordered = probe.model_copy(
        update={"models": tuple(sorted(probe.models, key=lambda m: (m.name, m.resourceId)))}
    )
    document = ordered.model_dump(mode="json", exclude_none=True)
    return (json.dumps(document, indent=2, ensure_ascii=True) + "\n").encode("ascii")


def name_of(resource_id: str) -> str:
    """The model name in a resourceId (``org/team/name`` or ``org/name``)."""
    return resource_id.rsplit("/", 1)[-1]


def build_probe(
    statuses: Mapping[str, EuStatus],
    attempts: Mapping[str, int],
    *,
    probed_at: str,
    api_url: str,
    proxy: ProxyUrl | None,
) -> EuProbe:
    """The probe document from the collector's per-resourceId results."""
    vantage = (
        ProbeVantage(kind="proxy", proxy=proxy.redacted, apiUrl=api_url)
        if proxy is not None
        else ProbeVantage(kind="local", apiUrl=api_url)
    )
    models = tuple(
        ProbedModel(
            name=name_of(rid),
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
    """Read ``--eu-list``: a nimgen probe file, or the flat list ``[{name, resourceId, ...}]``."""
    from nimgen.files import JSON_MAX_BYTES, read_regular_file
    from nimgen.yamlio import load_json

    # Bounded, regular files only (a FIFO never hangs it); duplicate keys refused.
    raw = read_regular_file(path, what="the EU list", max_bytes=JSON_MAX_BYTES)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: the EU list is not UTF-8 text") from None
    document = load_json(text, source=str(path))
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
