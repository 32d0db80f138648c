"""The conservative EU rule: from EU facts (seen only from an EU vantage, where NGC answers
a restricted model with HTTP 451) to each record's ``euRestricted``: restricted -> true,
available -> false; uncertain (inconclusive, or unmentioned by facts that claim coverage)
follows ``--eu-uncertain``: ``restrict`` (true, the default), ``allow`` (false) or ``fail``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from nimgen.catalog import DIGEST_PATTERN, EuStatus, SnapshotModel
from nimgen.errors import RunFailed
from nimgen.selection import Selection

Policy = Literal["restrict", "allow", "fail"]
POLICIES: tuple[Policy, ...] = ("restrict", "allow", "fail")

FactsKind = Literal["probe-file", "flat-list", "inline-probe", "snapshot"]


@dataclass(frozen=True)
class EuFacts:
    """The EU facts of a run. ``from_models``: the statuses sit on the models (an inline
    probe, a snapshot); ``coverage``: an unmentioned model is uncertain, not available."""

    kind: FactsKind
    source: str
    coverage: bool = True
    statuses: Mapping[str, EuStatus] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)  # resourceId -> name in the file
    from_models: bool = False
    label: str = "the EU facts"
    warnings: tuple[str, ...] = ()
    # What a probe file records about itself: when it probed, and which NGC API.
    probed_at: str | None = None
    api_url: str | None = None


# The eu-source annotation (and --json's euSource) names the kind of source, never a
# host or a path: a proxy's host is internal, and a carried value is text from a file.
_SOURCE_VALUE = re.compile(
    r"none|inline-probe|snapshot|sample \d{4}-\d{2}-\d{2}"
    f"|flat-list {DIGEST_PATTERN}"
    r"|probe-file (probed \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z )?"
    f"{DIGEST_PATTERN}"
)


def probe_file_source(digest: str, probed_at: str | None) -> str:
    """The annotation value of a probe file: its probe time when it is a UTC timestamp."""
    dated = f"probe-file probed {probed_at} sha256:{digest}"
    return dated if _SOURCE_VALUE.fullmatch(dated) else f"probe-file sha256:{digest}"


def carried_source(text: str) -> str:
    """A carried annotation value when nimgen writes such a value, else the bare kind
    (an older nimgen named the proxy; a hand-written file may say anything)."""
    if _SOURCE_VALUE.fullmatch(text):
        return text
    return "inline-probe" if text.startswith("inline-probe") else "snapshot"


def facts_from_models(kind: FactsKind, source: str) -> EuFacts:
    label = "the inline EU probe" if kind == "inline-probe" else "the snapshot's EU statuses"
    return EuFacts(kind=kind, source=source, coverage=True, from_models=True, label=label)


def carries_eu_facts(models: Iterable[SnapshotModel], eu_facts: str) -> bool:
    return eu_facts != "none" or any(m.eu is not None for m in models)


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
    # Lines for the user that are not warnings (shown unless --quiet).
    notes: tuple[str, ...] = ()


def keep_records(models: tuple[SnapshotModel, ...], source: str) -> EuOutcome:
    """No EU facts to apply: the records stay as they are."""
    restricted = tuple(sorted(m.record.name for m in models if m.record.euRestricted))
    return EuOutcome(models=models, source=source, restricted=restricted)


def no_facts(models: tuple[SnapshotModel, ...]) -> EuOutcome:
    """A live run without EU facts: nothing is known restricted, so every model ships false
    (records reused from ``--previous`` included), and the source is ``none``."""
    cleared = tuple(
        m
        if not m.record.euRestricted and m.eu is None  # already so: most models, no copy
        else m.replace(record=m.record.replace(euRestricted=False), eu=None)
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
    """Each model's ``euRestricted`` from ``facts`` (matched by resourceId, else by name).

    Entries for models the run left out (``selection``, ``not_shipped``) are not stale.
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
        record = model.record.replace(euRestricted=flag)
        decided.append(model.replace(record=record, eu=status))

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
                f"(a stale list?): {', '.join(stale)}"
            )
    if unmentioned and not facts.from_models:
        warnings.append(
            f"{facts.label} does not mention {len(unmentioned)} catalog model(s), "
            f"so their EU status is uncertain: {', '.join(sorted(unmentioned))}"
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
