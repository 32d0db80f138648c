"""EU restrictions: the probe file and flat list, the proxy URL, the rule, one decision.

* ``probe_file``: the versioned probe file ``nimgen probe-eu`` writes, and ``load_eu_list``;
* ``proxy``: ``check_proxy_url``, the redacted proxy URL;
* ``rule``: ``apply_eu``, the conservative rule under ``--eu-uncertain``;
* ``resolve``: ``check_eu_source`` and ``resolve_eu``, the one EU decision of a run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nimgen.eu.probe_file import (
        PROBE_KIND,
        PROBE_VERSION,
        EuProbe,
        ProbedModel,
        ProbeVantage,
        build_probe,
        load_eu_list,
        name_of,
        probe_json,
    )
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

# Each name is imported from its module on first use (PEP 562): a run without an EU
# list or probe file never loads the probe file's models (about 20 ms of start-up).
_MODULE_OF = {
    "CarriedEu": "nimgen.eu.resolve",
    "DEFAULT_MAX_AGE_DAYS": "nimgen.eu.resolve",
    "EU_PROXY_ENV": "nimgen.eu.resolve",
    "EuFacts": "nimgen.eu.rule",
    "EuOutcome": "nimgen.eu.rule",
    "EuProbe": "nimgen.eu.probe_file",
    "EuRequest": "nimgen.eu.resolve",
    "EuSource": "nimgen.eu.resolve",
    "FactsKind": "nimgen.eu.rule",
    "NO_EU_SOURCE": "nimgen.eu.resolve",
    "POLICIES": "nimgen.eu.rule",
    "PROBE_KIND": "nimgen.eu.probe_file",
    "PROBE_VERSION": "nimgen.eu.probe_file",
    "Policy": "nimgen.eu.rule",
    "ProbeVantage": "nimgen.eu.probe_file",
    "ProbedModel": "nimgen.eu.probe_file",
    "ProxyUrl": "nimgen.eu.proxy",
    "UncertainEuStatus": "nimgen.eu.rule",
    "apply_eu": "nimgen.eu.rule",
    "build_probe": "nimgen.eu.probe_file",
    "carried_eu": "nimgen.eu.resolve",
    "carries_eu_facts": "nimgen.eu.rule",
    "check_eu_source": "nimgen.eu.resolve",
    "check_proxy_url": "nimgen.eu.proxy",
    "facts_from_models": "nimgen.eu.rule",
    "freshness_problems": "nimgen.eu.resolve",
    "keep_records": "nimgen.eu.rule",
    "load_eu_list": "nimgen.eu.probe_file",
    "name_of": "nimgen.eu.probe_file",
    "no_facts": "nimgen.eu.rule",
    "probe_json": "nimgen.eu.probe_file",
    "resolve_eu": "nimgen.eu.resolve",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "EU_PROXY_ENV",
    "NO_EU_SOURCE",
    "POLICIES",
    "PROBE_KIND",
    "PROBE_VERSION",
    "CarriedEu",
    "EuFacts",
    "EuOutcome",
    "EuProbe",
    "EuRequest",
    "EuSource",
    "FactsKind",
    "Policy",
    "ProbeVantage",
    "ProbedModel",
    "ProxyUrl",
    "UncertainEuStatus",
    "apply_eu",
    "build_probe",
    "carried_eu",
    "carries_eu_facts",
    "check_eu_source",
    "check_proxy_url",
    "facts_from_models",
    "freshness_problems",
    "keep_records",
    "load_eu_list",
    "name_of",
    "no_facts",
    "probe_json",
    "resolve_eu",
]
