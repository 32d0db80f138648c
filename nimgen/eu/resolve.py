"""One decision per run: where its EU facts come from, and what they make of each model.

A run that writes a ConfigMap needs an explicit source: ``--eu-proxy``, ``--eu-list``,
``--no-eu`` or (``render``) the facts its input carries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from nimgen.errors import BadInput
from nimgen.eu import DEFAULT_MAX_AGE_DAYS, EU_PROXY_ENV
from nimgen.eu.probe_file import load_eu_list
from nimgen.eu.proxy import ProxyUrl, check_proxy_url
from nimgen.eu.rule import (
    EuFacts,
    EuOutcome,
    Policy,
    UncertainEuStatus,
    apply_eu,
    carried_source,
    carries_eu_facts,
    facts_from_models,
    keep_records,
    no_facts,
)
from nimgen.selection import Selection

if TYPE_CHECKING:
    from nimgen.catalog import SnapshotModel
    from nimgen.snapshot import Loaded

# How far ahead of this machine's clock a probe time may be before it is not believed.
CLOCK_SKEW_DAYS = 5 / (24 * 60)
# The ConfigMap annotation (and --json euSource) of a run without EU facts.
NO_EU_SOURCE = "none"

_WAYS_OUT = (
    "--eu-list FILE (a probe file from 'nimgen probe-eu' run in the EU, or the legacy flat "
    "list), or --no-eu (ship every model euRestricted: false, for local experiments)"
)
NO_EU_WARNING = (
    "--no-eu: no EU facts, so every model ships euRestricted: false and the ConfigMap's "
    "eu-source annotation says none; do not ship this tree where users in the EU deploy"
)


@dataclass(frozen=True)
class EuRequest:
    """The EU options of a run, as given."""

    eu_list: Path | None = None
    eu_proxy: str | None = None
    no_eu: bool = False
    policy: Policy = "restrict"
    max_age_days: float = DEFAULT_MAX_AGE_DAYS


@dataclass(frozen=True)
class EuSource:
    """The EU source the options name, checked (file read, proxy URL parsed) before any request."""

    facts: EuFacts | None = None
    proxy: ProxyUrl | None = None
    no_eu: bool = False

    @property
    def given(self) -> bool:
        return self.facts is not None or self.proxy is not None or self.no_eu


@dataclass(frozen=True)
class CarriedEu:
    """The EU facts an input file of ``render`` carries."""

    label: str
    kind: Literal["snapshot", "configmap"]
    source: str  # the snapshot's euFacts, or the ConfigMap's eu-source annotation
    has_facts: bool


def check_eu_source(request: EuRequest, *, required: bool) -> EuSource:
    """At most one source, checked before any request; ``required``: none is exit 2."""
    given = [
        name
        for name, value in (
            ("--eu-list", request.eu_list is not None),
            (f"--eu-proxy (or ${EU_PROXY_ENV})", bool(request.eu_proxy)),
            ("--no-eu", request.no_eu),
        )
        if value
    ]
    if len(given) > 1:
        raise BadInput(f"{' and '.join(given)} cannot be combined: give one source of EU facts")
    if request.eu_proxy:
        return EuSource(proxy=check_proxy_url(request.eu_proxy))
    if request.eu_list is not None:
        return EuSource(facts=load_eu_list(request.eu_list))
    if request.no_eu:
        return EuSource(no_eu=True)
    if required:
        raise BadInput(
            "no EU source: nimgen does not ship a ConfigMap without an EU decision; give "
            f"--eu-proxy URL (probe inline from the EU; or ${EU_PROXY_ENV}), {_WAYS_OUT}"
        )
    return EuSource()


def carried_eu(loaded: Loaded) -> CarriedEu:
    """What ``render``'s input says about the EU: a snapshot's statuses, a ConfigMap's flags."""
    if loaded.kind == "snapshot":
        has_facts = carries_eu_facts(loaded.models, loaded.eu_facts)
        source = carried_source(loaded.eu_facts) if loaded.eu_facts != NO_EU_SOURCE else "snapshot"
        return CarriedEu(f"the snapshot {loaded.path}", "snapshot", source, has_facts)
    has_facts = loaded.eu_facts != NO_EU_SOURCE
    source = carried_source(loaded.eu_facts) if has_facts else NO_EU_SOURCE
    return CarriedEu(f"the ConfigMap {loaded.path}", "configmap", source, has_facts)


def resolve_eu(
    models: tuple[SnapshotModel, ...],
    source: EuSource,
    request: EuRequest,
    *,
    carried: CarriedEu | None = None,
    selection: Selection | None = None,
    not_shipped: Collection[str] = (),
    api_url: str | None = None,
    now: datetime | None = None,
) -> EuOutcome:
    """Each model's ``euRestricted`` from, in order: the inline probe, ``--eu-list`` (its
    age and NGC API checked), the facts ``carried`` by render's input, ``--no-eu``."""
    facts: EuFacts | None = source.facts
    early: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    if source.proxy is not None:
        facts = facts_from_models("inline-probe", "inline-probe")
    elif facts is not None:
        early = freshness_problems(facts, request.max_age_days, api_url=api_url, now=now)
        if early and request.policy == "fail":
            raise UncertainEuStatus(
                f"{facts.label} may not describe this catalog (--eu-uncertain fail); "
                "nothing was written",
                details=early,
            )
    elif carried is not None and carried.has_facts:
        if source.no_eu:
            notes = (f"--no-eu: {carried.label} carries EU facts; they are applied",)
        if carried.kind == "configmap":
            return _with(keep_records(models, carried.source), notes=notes)
        facts = facts_from_models("snapshot", carried.source)
    elif source.no_eu:
        return _with(no_facts(models), warnings=(NO_EU_WARNING,))
    elif carried is not None:
        raise BadInput(
            f"{carried.label} carries no EU facts: give {_WAYS_OUT}; or fetch it again "
            "with --eu-proxy or --eu-list"
        )
    if facts is None:
        note = (
            "no EU facts (--eu-list or --eu-proxy): every model is recorded euRestricted: "
            "false; give the facts when rendering (render --eu-list)"
        )
        return _with(no_facts(models), notes=(note,))
    try:
        outcome = apply_eu(
            models, facts, request.policy, selection=selection, not_shipped=not_shipped
        )
    except UncertainEuStatus as exc:
        raise UncertainEuStatus(
            exc.message, details=exc.details, warnings=early + exc.warnings
        ) from None
    return _with(outcome, warnings=early, notes=notes, first=True)


def _with(
    outcome: EuOutcome,
    *,
    warnings: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
    first: bool = False,
) -> EuOutcome:
    joined = warnings + outcome.warnings if first else outcome.warnings + warnings
    return dataclasses.replace(outcome, warnings=joined, notes=outcome.notes + notes)


def freshness_problems(
    facts: EuFacts, max_age_days: float, *, api_url: str | None, now: datetime | None
) -> tuple[str, ...]:
    """Why a probe file may not describe this catalog (its age, its NGC API): only warnings,
    so the tree never depends on ``now``."""
    problems: list[str] = []
    if facts.probed_at is not None:
        probed = _parse_time(facts.probed_at)
        if probed is None:
            problems.append(f"{facts.label} records no readable probe time ({facts.probed_at!r})")
        else:
            age_days = ((now or datetime.now(UTC)) - probed).total_seconds() / 86400
            if age_days > max_age_days:
                problems.append(
                    f"{facts.label} is {int(age_days)} days old (probed {facts.probed_at}; "
                    f"--eu-max-age {max_age_days:g}): EU restrictions may have changed since; "
                    "probe again with 'nimgen probe-eu'"
                )
            elif age_days < -CLOCK_SKEW_DAYS:
                problems.append(
                    f"{facts.label} is dated in the future (probed {facts.probed_at}): a clock "
                    "was wrong, so its age is unknown; probe again with 'nimgen probe-eu'"
                )
    if (
        api_url is not None
        and facts.api_url is not None
        and facts.api_url.rstrip("/") != api_url.rstrip("/")
    ):
        problems.append(
            f"{facts.label} was probed against the NGC API {facts.api_url}, not this "
            f"run's {api_url}: its statuses may describe another catalog"
        )
    return tuple(problems)


def _parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
