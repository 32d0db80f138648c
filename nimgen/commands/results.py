"""The typed results of the commands: frozen, built once at the end of a run.

``nimgen.report`` turns each into the summary table and the ``--json`` document
(``nimgen.report.json_models`` documents that schema); nothing else fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from nimgen.errors import ExitCode

if TYPE_CHECKING:
    from nimgen.commands.check import CheckResult
    from nimgen.eu.probe_file import EuProbe
    from nimgen.eu.rule import EuOutcome
    from nimgen.render.configmap import RenderedConfigMap
    from nimgen.sources import Collection, ModelFailure


@dataclass(frozen=True)
class Collected:
    """What collecting the catalog found."""

    discovered: int
    fetched: int
    reused: int
    skipped_by_selection: int
    left_out_no_tag: tuple[str, ...]
    failed: tuple[ModelFailure, ...]
    models: int

    @classmethod
    def of(cls, collection: Collection) -> Collected:
        return cls(
            discovered=collection.discovered,
            fetched=len(collection.models) - collection.reused,
            reused=collection.reused,
            skipped_by_selection=collection.skipped_by_selection,
            left_out_no_tag=collection.no_tag,
            failed=collection.failures,
            models=len(collection.models),
        )


@dataclass(frozen=True)
class ConfigMapFacts:
    name: str
    size_bytes: int
    share_of_limit: float
    digest: str | None = None
    namespace: str | None = None
    revision: int | None = None
    client_apply_bytes: int | None = None
    share_of_client_apply_limit: float | None = None

    @classmethod
    def of(cls, configmap: RenderedConfigMap) -> ConfigMapFacts:
        return cls(
            name=configmap.name,
            digest=f"sha256:{configmap.digest}",
            size_bytes=configmap.size_bytes,
            share_of_limit=round(configmap.share_of_limit, 4),
            revision=configmap.revision,
            client_apply_bytes=configmap.apply_annotation_bytes,
            share_of_client_apply_limit=round(configmap.share_of_client_apply_limit, 4),
        )


@dataclass(frozen=True)
class Reuse:
    """``--previous``: how many records were reused instead of fetched."""

    previous: Path
    reused: int
    fetched: int


@dataclass(frozen=True)
class ModelLoss:
    """The models of the previous tree this run does not ship."""

    previous: str
    previous_models: int
    lost: tuple[str, ...]
    max_loss_percent: float

    @property
    def share(self) -> float:
        return len(self.lost) / self.previous_models if self.previous_models else 0.0

    @property
    def exceeded(self) -> bool:
        return self.share * 100 > self.max_loss_percent


@dataclass(frozen=True)
class GenerateResult:
    command: ClassVar[str] = "generate"
    collected: Collected
    eu: EuOutcome
    configmap: ConfigMapFacts
    output: Path
    check: CheckResult | None = None
    reuse: Reuse | None = None
    loss: ModelLoss | None = None

    @property
    def exit_code(self) -> int:
        drift = self.check is not None and not self.check.identical
        return int(ExitCode.DRIFT if drift else ExitCode.OK)


@dataclass(frozen=True)
class FetchResult:
    command: ClassVar[str] = "fetch"
    collected: Collected
    eu: EuOutcome
    output: Path
    reuse: Reuse | None = None
    exit_code: int = 0


@dataclass(frozen=True)
class RenderResult:
    command: ClassVar[str] = "render"
    models: int
    skipped_by_selection: int
    eu: EuOutcome
    configmap: ConfigMapFacts
    output: Path
    loss: ModelLoss | None = None
    exit_code: int = 0


@dataclass(frozen=True)
class ProbeResult:
    command: ClassVar[str] = "probe-eu"
    probe: EuProbe
    collected: Collected
    output: Path
    vantage: str  # "this machine" or "the EU proxy http://***@host:port"
    exit_code: int = 0

    def names(self, status: str) -> tuple[str, ...]:
        ordered = sorted(self.probe.models, key=lambda m: (m.name, m.resourceId))
        return tuple(m.name for m in ordered if m.status == status)


@dataclass(frozen=True)
class VerifyKeyResult:
    command: ClassVar[str] = "verify-key"
    api_url: str
    exit_code: int = 0


@dataclass(frozen=True)
class ValidateResult:
    command: ClassVar[str] = "validate"
    # Each file's result as nimgen.validate reports it (FileResult.as_json()).
    files: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    exit_code: int = 0

    @property
    def valid(self) -> bool:
        return all(bool(f.get("valid")) for f in self.files)


Result = (
    GenerateResult | FetchResult | RenderResult | ProbeResult | VerifyKeyResult | ValidateResult
)
