"""What ``nimgen probe-eu`` tells the user after probing: counts, the restricted models,
and warnings about inconclusive models and a vantage that may not be in the EU."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from nimgen.commands.results import ProbeResult


class ProbeNotes(NamedTuple):
    info: list[str]
    warnings: list[str]


def probe_notes(result: ProbeResult) -> ProbeNotes:
    probe = result.probe
    restricted = result.names("restricted")
    inconclusive = result.models_with("inconclusive")
    info = [
        f"probed {len(probe.models)} model(s) from {result.vantage}: {len(restricted)} "
        f"restricted, {len(result.names('available'))} available, "
        f"{len(inconclusive)} inconclusive"
    ]
    if restricted:
        info.append(f"restricted in the EU (HTTP 451): {', '.join(restricted)}")
    warnings = []
    if inconclusive:
        warnings.append(
            f"{len(inconclusive)} model(s) inconclusive (neither 451 nor 200 after "
            "retries; 'generate --eu-list' flags them unless --eu-uncertain allow): "
            + "; ".join(f"{model.name}: {model.detail}" for model in inconclusive)
        )
    if probe.models and not restricted:
        warnings.append(
            f"no model answered HTTP 451 from {result.vantage}: the vantage may not be in the EU"
        )
    return ProbeNotes(info, warnings)
