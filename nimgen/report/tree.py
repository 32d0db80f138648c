"""What ``generate`` and ``render`` warn about the tree they write."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nimgen.report.text import first_names

if TYPE_CHECKING:
    from nimgen.commands.results import ModelLoss

# --max-loss's default share of the previous models; ``diff``'s markdown warns from it too.
DEFAULT_MAX_LOSS_PERCENT = 20.0

FIXED_NAME = (
    "--name-suffix none: the ConfigMap is immutable under a fixed name, so a later "
    "catalog change cannot be applied in place (delete and re-create it instead)"
)


def client_side_apply_warning(annotation_bytes: int, limit: int) -> str:
    return (
        f"client-side apply (kubectl/oc apply without --server-side) would need "
        f"{annotation_bytes:,} bytes of annotations for this ConfigMap, over the {limit:,} "
        "the API server accepts: apply it with `kubectl apply --server-side -k ...` (no "
        "such limit below 1 MiB)"
    )


def loss_warning(loss: ModelLoss) -> str:
    lost = loss.lost
    shown = first_names(lost)
    return (
        f"this run drops {len(lost)} of the {loss.previous_models} models in {loss.previous} "
        f"({loss.share:.0%}, over --max-loss {loss.max_loss_percent:g}%): {shown}; check the "
        "catalog, the key's org and --models before shipping it"
    )
