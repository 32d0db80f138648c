"""The options of the commands that write a tree or a snapshot, each defined once."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nimgen.report.tree import DEFAULT_MAX_LOSS_PERCENT as DEFAULT_MAX_LOSS_PERCENT


class NameSuffix(StrEnum):
    content = "content"
    none = "none"


OutputDir = Annotated[
    Path,
    typer.Option("--output", "-o", help="Directory of the kustomize tree (replaced atomically)."),
]
NameSuffixOption = Annotated[
    NameSuffix,
    typer.Option(
        "--name-suffix",
        help="'content': name the ConfigMap nim-models-data-<digest> (upgradeable); "
        "'none': plain nim-models-data (an immutable ConfigMap under a fixed name "
        "cannot be upgraded in place).",
    ),
]
AllowEmpty = Annotated[
    bool,
    typer.Option(
        "--allow-empty",
        help="Write the result even when no model is left to ship (otherwise exit 1).",
    ),
]
MaxLoss = Annotated[
    float,
    typer.Option(
        "--max-loss",
        min=0,
        max=100,
        metavar="PERCENT",
        help="Warn loudly when the run drops more than this share of the previous result's "
        "models (the tree in --output, else --previous).",
    ),
]
AllowPartial = Annotated[
    bool,
    typer.Option(
        "--allow-partial", help="Ship without models that failed, listing them, instead of failing."
    ),
]
PreviousOption = Annotated[
    Path | None,
    typer.Option(
        "--previous",
        help="Incremental refresh: reuse this earlier result's record for every model whose "
        "catalog entry (latestTag, dateModified, latestTagPushedDate) is unchanged, and "
        "fetch only the others. Give a snapshot from 'nimgen fetch'; a ConfigMap or tree is "
        "accepted but lacks those catalog facts, so every model is fetched.",
    ),
]
FullOption = Annotated[bool, typer.Option("--full", help="Fetch every model, ignoring --previous.")]
CheckOption = Annotated[
    bool,
    typer.Option(
        "--check",
        help="Do the whole run but write nothing: compare the result byte for byte with the "
        "tree in --output; exit 0 when identical, 3 when it differs or is missing, with a "
        "summary of the models added, removed and changed.",
    ),
]
