"""The EU options of ``generate``, ``fetch`` and ``render``, each defined once."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nimgen.cli.options import option_group
from nimgen.eu import DEFAULT_MAX_AGE_DAYS, EU_PROXY_ENV

if TYPE_CHECKING:
    from nimgen.eu.resolve import EuRequest


class EuUncertainPolicy(StrEnum):
    restrict = "restrict"
    allow = "allow"
    fail = "fail"


EuProxy = Annotated[
    str | None,
    typer.Option(
        "--eu-proxy",
        envvar=EU_PROXY_ENV,
        metavar="URL",
        help="Probe every model's EU status in the same run through this HTTP(S) proxy in "
        "the EU (http[s]://[user:password@]host:port), interleaved with the tag fetches "
        f"under --concurrency. Credentials are never printed; pass the URL in ${EU_PROXY_ENV} "
        "to keep them out of process listings. Not with --eu-list or --no-eu.",
        show_default=False,
    ),
]
EuList = Annotated[
    Path | None,
    typer.Option(
        "--eu-list",
        dir_okay=False,
        help="Mark EU-restricted models from this file: a probe file from 'nimgen probe-eu' "
        "(451 = restricted, 200 = available, else inconclusive), or the flat list "
        "[{name, resourceId, org, team}] older tooling wrote (listed = restricted, "
        "absent = available).",
    ),
]
NoEu = Annotated[
    bool,
    typer.Option(
        "--no-eu",
        help="Ship without EU facts, explicitly: every model euRestricted: false, the "
        "eu-source annotation 'none', and a warning on every run. For local experiments only.",
    ),
]
EuUncertain = Annotated[
    EuUncertainPolicy,
    typer.Option(
        "--eu-uncertain",
        help="For a model whose EU status is inconclusive, or that a probe file does not "
        "mention, and for a probe file older than --eu-max-age or probed against another "
        "--ngc-api-url: 'restrict' ships it euRestricted: true (a stale file only warns), "
        "'allow' ships it false, 'fail' fails the run (exit 1). Each is named in the summary "
        "and --json.",
    ),
]
EuMaxAge = Annotated[
    float,
    typer.Option(
        "--eu-max-age",
        min=0,
        metavar="DAYS",
        help="Warn when the --eu-list probe file is older than this many days.",
    ),
]


@option_group
class FetchEu:
    """The EU options of ``fetch`` (no EU source is required there)."""

    eu_proxy: EuProxy = None
    eu_list: EuList = None
    eu_uncertain: EuUncertain = EuUncertainPolicy.restrict
    eu_max_age: EuMaxAge = DEFAULT_MAX_AGE_DAYS

    def request(self, *, no_eu: bool = False) -> EuRequest:
        from nimgen.eu.resolve import EuRequest

        return EuRequest(
            eu_list=self.eu_list,
            eu_proxy=self.eu_proxy,
            no_eu=no_eu,
            policy=self.eu_uncertain.value,
            max_age_days=self.eu_max_age,
        )


@option_group
class GenerateEu(FetchEu):
    """The EU options of ``generate``: one EU source is required."""

    no_eu: NoEu = False
