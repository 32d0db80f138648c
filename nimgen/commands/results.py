"""The typed results of the commands: frozen, built once at the end of a run, turned into
the summary table and the ``--json`` document by ``nimgen.report``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from nimgen.errors import ExitCode

if TYPE_CHECKING:
    from nimgen.airgap.plan import AirgapPlan
    from nimgen.airgap.steps import NextStep
    from nimgen.collection import Collection
    from nimgen.eu.probe_file import EuProbe, ProbedModel
    from nimgen.eu.rule import EuOutcome
    from nimgen.tree.check import CheckResult
    from nimgen.tree.configmap import RenderedConfigMap


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


@dataclass(frozen=True, kw_only=True)
class ShippedModels:
    """A run that decided the models' EU flags and wrote them to ``output`` (generate is
    fetch's live phase then render's tree: they share fields through these bases)."""

    eu: EuOutcome
    output: Path


@dataclass(frozen=True, kw_only=True)
class ShippedTree(ShippedModels):
    """A run that wrote the kustomize tree (generate, render)."""

    configmap: ConfigMapFacts
    loss: ModelLoss | None = None


@dataclass(frozen=True, kw_only=True)
class GenerateResult(ShippedTree):
    command: ClassVar[str] = "generate"
    collection: Collection
    check: CheckResult | None = None
    reuse: Reuse | None = None

    @property
    def exit_code(self) -> int:
        drift = self.check is not None and not self.check.identical
        return int(ExitCode.DRIFT if drift else ExitCode.OK)


@dataclass(frozen=True, kw_only=True)
class FetchResult(ShippedModels):
    command: ClassVar[str] = "fetch"
    collection: Collection
    reuse: Reuse | None = None
    exit_code: int = 0


@dataclass(frozen=True, kw_only=True)
class RenderResult(ShippedTree):
    command: ClassVar[str] = "render"
    models: int
    skipped_by_selection: int
    exit_code: int = 0


@dataclass(frozen=True)
class ProbeResult:
    command: ClassVar[str] = "probe-eu"
    probe: EuProbe
    collection: Collection
    output: Path
    vantage: str  # "this machine" or "the EU proxy http://***@host:port"
    exit_code: int = 0

    @cached_property
    def _by_name(self) -> tuple[ProbedModel, ...]:
        return tuple(sorted(self.probe.models, key=lambda m: (m.name, m.resourceId)))

    def models_with(self, status: str) -> tuple[ProbedModel, ...]:
        """The probed models of ``status``, by name (then resourceId)."""
        return tuple(m for m in self._by_name if m.status == status)

    def names(self, status: str) -> tuple[str, ...]:
        return tuple(m.name for m in self.models_with(status))


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


@dataclass(frozen=True)
class AirgapResult:
    """``airgap``: the plan it wrote to ``output``, and the admin's next steps."""

    command: ClassVar[str] = "airgap"
    plan: AirgapPlan
    steps: tuple[NextStep, ...]
    files: tuple[str, ...]  # relative to output, sorted
    configmap: ConfigMapFacts
    output: Path
    exit_code: int = 0

    @property
    def models(self) -> int:
        return len(self.plan.records)

    @property
    def skipped_by_selection(self) -> int:
        return self.plan.skipped_by_selection

    @property
    def eu_restricted(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.plan.records if r.euRestricted)


@dataclass(frozen=True)
class ClusterResult:
    """A cluster command's finding: its own ``--json`` fields (no schema yet) and exit code;
    no summary table (it printed its plan or findings as it went)."""

    COMMANDS: ClassVar[frozenset[str]] = frozenset({"cleanup", "status", "migrate-deployments"})
    command: str
    document: Mapping[str, Any]
    exit_code: int = ExitCode.OK

    @property
    def ok(self) -> bool:
        """A plan (exit 3) is a success too; a failed check of the cluster (exit 1) is not."""
        return self.exit_code in (ExitCode.OK, ExitCode.DRIFT)


Result = (
    GenerateResult
    | FetchResult
    | RenderResult
    | ProbeResult
    | VerifyKeyResult
    | ValidateResult
    | AirgapResult
    | ClusterResult
)
