"""EU restrictions: the probe file and flat list, the proxy URL, the rule, one decision.

* ``probe_file``: the versioned probe file ``nimgen probe-eu`` writes, and ``load_eu_list``
  (imported from its module, not from here: its pydantic models cost 20 ms of start-up
  that only ``probe-eu`` and an EU list or probe file need);
* ``proxy``: ``check_proxy_url``, the redacted proxy URL;
* ``rule``: ``apply_eu``, the conservative rule under ``--eu-uncertain``;
* ``resolve``: ``check_eu_source`` and ``resolve_eu``, the one EU decision of a run.
"""

from __future__ import annotations

from nimgen.eu.proxy import ProxyUrl, check_proxy_url
from nimgen.eu.resolve import (
    DEFAULT_MAX_AGE_DAYS,
    EU_PROXY_ENV,
    NO_EU_SOURCE,
    CarriedEu,
    EuRequest,
    EuSource,
    carried_eu,
    check_eu_source,
    freshness_problems,
    resolve_eu,
)
from nimgen.eu.rule import (
    POLICIES,
    EuFacts,
    EuOutcome,
    FactsKind,
    Policy,
    UncertainEuStatus,
    apply_eu,
    carries_eu_facts,
    facts_from_models,
    keep_records,
    no_facts,
)

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "EU_PROXY_ENV",
    "NO_EU_SOURCE",
    "POLICIES",
    "CarriedEu",
    "EuFacts",
    "EuOutcome",
    "EuRequest",
    "EuSource",
    "FactsKind",
    "Policy",
    "ProxyUrl",
    "UncertainEuStatus",
    "apply_eu",
    "carried_eu",
    "carries_eu_facts",
    "check_eu_source",
    "check_proxy_url",
    "facts_from_models",
    "freshness_problems",
    "keep_records",
    "no_facts",
    "resolve_eu",
]
