"""EU restrictions: the probe file, the flat legacy list, and the conservative rule.

NGC answers a model's per-model call with HTTP 451 when the caller is in the EU and
the model is restricted there, so the facts can only be seen from an EU vantage.
``nimgen probe-eu`` records what such a vantage saw in a versioned probe file
(``EuProbe``); ``generate``/``fetch``/``render`` read it back with ``load_eu_list``
(which also accepts the flat list older tooling wrote), or probe inline through an
EU proxy, and ``apply_eu`` turns the facts into each record's ``euRestricted``:

* ``restricted`` (451) -> true, ``available`` (200) -> false;
* uncertain - ``inconclusive``, or not mentioned by facts that claim coverage -
  follows the ``--eu-uncertain`` policy: ``restrict`` (true, the default),
  ``allow`` (false) or ``fail`` (the run fails naming them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from nimgen.apikey import register_secret
from nimgen.catalog import EuStatus, EuStatusName, SnapshotModel
from nimgen.errors import BadInput, RunFailed
from nimgen.selection import Selection

if TYPE_CHECKING:
    from nimgen.apikey import ApiKey
    from nimgen.sources import Collection as ModelCollection
    from nimgen.sources import ProgressHook
    from nimgen.sources.ngc import ClientSettings

PROBE_KIND = "NimgenEuProbe"
PROBE_VERSION = 1

Policy = Literal["restrict", "allow", "fail"]
POLICIES: tuple[Policy, ...] = ("restrict", "allow", "fail")

# Where the EU facts of a run came from (``EuFacts.kind``).
FactsKind = Literal["probe-file", "flat-list", "inline-probe", "snapshot"]

_Frozen = ConfigDict(frozen=True, extra="forbid")


# -- the probe file ------------------------------------------------------------


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
    """The probe document from ``collect_catalog``'s per-resourceId results."""
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


# -- the proxy URL -------------------------------------------------------------


@dataclass(frozen=True)
class ProxyUrl:
    """An EU proxy: ``url`` (with any credentials) goes to httpx only; print ``redacted``."""

    url: str = field(repr=False)
    redacted: str


def check_proxy_url(url: str, option: str = "--eu-proxy") -> ProxyUrl:
    """Validate a proxy URL and register its credentials as secrets before anything prints it."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # Do not echo a malformed URL: it may hold a password where we cannot find it.
        raise BadInput(f"{option} is not an http:// or https:// proxy URL")
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at:
        register_secret(userinfo)
        register_secret(unquote(userinfo))
        password = userinfo.partition(":")[2]
        if password:
            register_secret(password)
            register_secret(unquote(password))
    redacted = f"{parts.scheme}://{'***@' if at else ''}{hostport}"
    try:
        parts.port  # noqa: B018  (raises ValueError for a malformed port)
    except ValueError:
        raise BadInput(f"{option} {redacted}: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise BadInput(f"{option} {redacted} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadInput(f"{option} {redacted}: a proxy URL has no path, query or fragment")
    return ProxyUrl(url=text, redacted=redacted)


# -- EU facts: what a run knows, and from where ---------------------------------


@dataclass(frozen=True)
class EuFacts:
    """The EU facts of a run.

    ``statuses`` maps resourceId to status (file kinds); ``from_models`` means the
    statuses sit on the models themselves (an inline probe or a snapshot).
    ``coverage``: a model the facts do not mention is uncertain (True) or available
    (False, the flat list). ``source`` is the ConfigMap annotation value.
    """

    kind: FactsKind
    source: str
    coverage: bool = True
    statuses: Mapping[str, EuStatus] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)  # resourceId -> name in the file
    from_models: bool = False
    label: str = "the EU facts"
    warnings: tuple[str, ...] = ()


class _LegacyEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: StrictStr = Field(min_length=1)
    resourceId: StrictStr = Field(min_length=1)
    org: StrictStr | None = None
    team: StrictStr | None = None


def _reason(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "document"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg']}{more}"


def load_eu_list(path: Path) -> EuFacts:
    """Read ``--eu-list``: a nimgen probe file, or the flat list ``[{name, resourceId, ...}]``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read the EU list {path}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(raw).hexdigest()
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"{path}: the EU list is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
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
        raise BadInput(f"{path}: invalid EU probe file: {_reason(exc)}") from None
    statuses: dict[str, EuStatus] = {}
    names: dict[str, str] = {}
    for model in probe.models:
        if model.resourceId in statuses:
            raise BadInput(f"{path}: the resource {model.resourceId!r} appears twice")
        statuses[model.resourceId] = EuStatus(status=model.status, detail=model.detail)
        names[model.resourceId] = model.name
    return EuFacts(
        kind="probe-file",
        source=f"probe-file sha256:{digest}",
        coverage=True,
        statuses=statuses,
        names=names,
        label=f"the EU probe file {path}",
    )


def _load_flat_list(path: Path, document: list[Any], digest: str) -> EuFacts:
    statuses: dict[str, EuStatus] = {}
    names: dict[str, str] = {}
    for index, item in enumerate(document):
        try:
            entry = _LegacyEntry.model_validate(item)
        except ValidationError as exc:
            raise BadInput(f"{path}: item {index}: {_reason(exc)}") from None
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


def facts_from_models(kind: FactsKind, source: str) -> EuFacts:
    """Facts carried by the models' own ``eu`` statuses (an inline probe, a snapshot)."""
    label = "the inline EU probe" if kind == "inline-probe" else "the snapshot's EU statuses"
    return EuFacts(kind=kind, source=source, coverage=True, from_models=True, label=label)


def carries_eu_facts(models: Iterable[SnapshotModel], eu_facts: str) -> bool:
    """True when a loaded snapshot holds EU statuses to apply."""
    return eu_facts != "none" or any(m.eu is not None for m in models)


# -- the rule ------------------------------------------------------------------


class UncertainEuStatus(RunFailed):
    """``--eu-uncertain fail`` and some model is uncertain; ``warnings`` were not yet shown."""

    def __init__(
        self, message: str, *, details: tuple[str, ...] = (), warnings: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, details=details)
        self.warnings = warnings


@dataclass(frozen=True)
class EuOutcome:
    """The models with ``euRestricted`` decided, and what the run should say about it."""

    models: tuple[SnapshotModel, ...]
    source: str
    restricted: tuple[str, ...] = ()
    # Models flagged restricted only because their status is uncertain (policy restrict).
    flagged_uncertain: tuple[str, ...] = ()
    # Every uncertain model, name -> why.
    uncertain: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)


def keep_records(models: tuple[SnapshotModel, ...], source: str = "none") -> EuOutcome:
    """No EU facts to apply: the records stay as they are."""
    restricted = tuple(sorted(m.record.name for m in models if m.record.euRestricted))
    return EuOutcome(models=models, source=source, restricted=restricted)


def no_facts(models: tuple[SnapshotModel, ...]) -> EuOutcome:
    """A live run without EU facts: nothing is known restricted, so every model ships false
    (records reused from ``--previous`` included), and the source is ``none``."""
    cleared = tuple(
        m.model_copy(
            update={"record": m.record.model_copy(update={"euRestricted": False}), "eu": None}
        )
        for m in models
    )
    return EuOutcome(models=cleared, source="none")


def apply_eu(
    models: tuple[SnapshotModel, ...],
    facts: EuFacts,
    policy: Policy,
    *,
    selection: Selection | None = None,
    not_shipped: Collection[str] = (),
) -> EuOutcome:
    """Decide each model's ``euRestricted`` from ``facts`` under ``policy``.

    A model matches a file entry by resourceId, else by name. ``selection`` and
    ``not_shipped`` (models without a tag, or that failed) keep entries for models the
    run deliberately left out from being reported as stale. Raises ``UncertainEuStatus``
    (exit 1) under ``policy == "fail"`` when any model is uncertain.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown --eu-uncertain policy {policy!r}")
    warnings: list[str] = list(facts.warnings)
    model_rids = {m.catalog.resourceId for m in models}
    by_name: dict[str, str] = {}
    ambiguous: set[str] = set()
    for rid, name in facts.names.items():
        if name in by_name:
            ambiguous.add(name)
        by_name[name] = rid
    used: set[str] = set()
    decided: list[SnapshotModel] = []
    uncertain: dict[str, str] = {}
    restricted: list[str] = []
    flagged: list[str] = []
    unmentioned: list[str] = []

    for model in models:
        status = _status_for(model, facts, by_name, ambiguous, model_rids, used)
        name = model.record.name
        why: str | None = None
        if status is None:
            if facts.coverage:
                why = (
                    "not in the probe file"
                    if facts.kind == "probe-file"
                    else "no EU status recorded"
                )
                unmentioned.append(name)
            else:
                status = EuStatus(status="available")
        elif status.status == "inconclusive":
            why = f"inconclusive: {status.detail}" if status.detail else "inconclusive"
        if why is not None:
            uncertain[name] = why
            flag = policy == "restrict"
            if flag:
                flagged.append(name)
        else:
            assert status is not None
            flag = status.status == "restricted"
        if flag:
            restricted.append(name)
        record = model.record.model_copy(update={"euRestricted": flag})
        decided.append(model.model_copy(update={"record": record, "eu": status}))

    if not facts.from_models:
        stale = sorted(
            facts.names[rid]
            for rid in facts.statuses
            if rid not in used
            and facts.names[rid] not in not_shipped
            and (selection is None or selection.matches(facts.names[rid]))
        )
        if stale:
            warnings.append(
                f"{facts.label} names {len(stale)} model(s) not in the catalog "
                f"(a stale list?): {_names(stale)}"
            )
    if unmentioned and not facts.from_models:
        warnings.append(
            f"{facts.label} does not mention {len(unmentioned)} catalog model(s), "
            f"so their EU status is uncertain: {_names(sorted(unmentioned))}"
        )
    if (
        facts.kind in ("probe-file", "inline-probe")
        and (facts.statuses or models)
        and not any(s.status == "restricted" for s in _all_statuses(facts, decided))
    ):
        warnings.append(
            f"{facts.label} saw no HTTP 451 at all: its vantage may not be in the EU "
            "(no model is known to be restricted there)"
        )
    if uncertain:
        lines = tuple(f"{name}: {uncertain[name]}" for name in sorted(uncertain))
        if policy == "fail":
            raise UncertainEuStatus(
                f"{len(uncertain)} model(s) have no conclusive EU status "
                "(--eu-uncertain fail); nothing was written",
                details=lines,
                warnings=tuple(warnings),
            )
        outcome = (
            "flagged euRestricted: true (--eu-uncertain restrict)"
            if policy == "restrict"
            else "left euRestricted: false (--eu-uncertain allow)"
        )
        warnings.append(
            f"{len(uncertain)} model(s) have no conclusive EU status and are {outcome}: "
            + "; ".join(lines)
        )
    return EuOutcome(
        models=tuple(decided),
        source=facts.source,
        restricted=tuple(sorted(restricted)),
        flagged_uncertain=tuple(sorted(flagged)),
        uncertain=dict(sorted(uncertain.items())),
        warnings=tuple(warnings),
    )


def _status_for(
    model: SnapshotModel,
    facts: EuFacts,
    by_name: Mapping[str, str],
    ambiguous: Collection[str],
    model_rids: Collection[str],
    used: set[str],
) -> EuStatus | None:
    if facts.from_models:
        return model.eu
    rid = model.catalog.resourceId
    if rid not in facts.statuses:
        # The same model under another org/team (moved since the list was made).
        name = model.record.name
        other = by_name.get(name)
        if other is None or name in ambiguous or other in model_rids or other in used:
            return None
        rid = other
    used.add(rid)
    return facts.statuses[rid]


def _all_statuses(facts: EuFacts, decided: Iterable[SnapshotModel]) -> Iterable[EuStatus]:
    if facts.from_models:
        return (m.eu for m in decided if m.eu is not None)
    return facts.statuses.values()


# -- running a probe -------------------------------------------------------------


@dataclass(frozen=True)
class ProbeRun:
    probe: EuProbe
    collection: ModelCollection


def run_probe(
    key: ApiKey,
    settings: ClientSettings,
    *,
    selection: Selection,
    proxy: ProxyUrl | None,
    progress: ProgressHook,
    log: Callable[[str], None] | None = None,
) -> ProbeRun:
    """Discover the catalog and make each selected model's per-model call from the vantage.

    Everything (key check, catalog, per-model calls) goes through one client: the
    local machine, or the proxy. Same retries, limiter and concurrency as ``generate``.
    """
    import asyncio

    from nimgen.sources.limiter import AdaptiveLimiter
    from nimgen.sources.ngc import CollectOptions, NgcClient, collect_catalog

    async def run() -> ProbeRun:
        limiter = AdaptiveLimiter(settings.concurrency)
        client = NgcClient(
            settings,
            key,
            limiter=limiter,
            log=log,
            proxy=proxy.url if proxy is not None else None,
        )
        async with client:
            options = CollectOptions(selection=selection, fetch_details=False, eu_client=client)
            collection, statuses, attempts = await collect_catalog(client, options, progress)
        probe = build_probe(
            statuses,
            attempts,
            probed_at=collection.fetched_at,
            api_url=settings.api_url,
            proxy=proxy,
        )
        return ProbeRun(probe=probe, collection=collection)

    return asyncio.run(run())
