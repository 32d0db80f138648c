"""The schema of every command's ``--json`` document (``nimgen schema --json-output``).

One pydantic model per command, told apart by ``command``. A field that is ``null``
at the top level (or in ``configMap``, ``vantage`` and ``images``) is left out of the
document, unless the model keeps it (``kept_null``: airgap's ``weights``); list fields
are always there (but for airgap's lists of what it wrote, absent when it failed).
docs/json-output.md describes each field.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

_Config = ConfigDict(frozen=True, extra="forbid")


class _Compact(BaseModel):
    """Serialised without its ``None`` fields, but for those in ``kept_null`` that were set."""

    model_config = _Config
    # A null that says something (not "absent"): printed when the field was set.
    kept_null: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _without_none(self, handler: SerializerFunctionWrapHandler) -> Any:
        document = handler(self)
        kept = self.kept_null & self.model_fields_set
        return {k: v for k, v in document.items() if v is not None or k in kept}


class FailedModel(BaseModel):
    model_config = _Config
    name: str
    reason: str = Field(description="Why it failed, in one line.")


class ConfigMapJson(_Compact):
    name: str
    digest: str | None = Field(None, description="sha256:<hex> of the data (not for airgap).")
    namespace: str | None = Field(None, description="airgap only: the ConfigMap's namespace.")
    sizeBytes: int
    shareOfLimit: float = Field(description="sizeBytes / 1 MiB, rounded to 4 places.")
    revision: int | None = Field(
        None, description="opendatahub.io/nim-models-revision of the shipped ConfigMap."
    )
    clientApplyBytes: int | None = Field(
        None,
        description="Annotation bytes client-side kubectl apply needs (limit 262,144).",
    )
    shareOfClientApplyLimit: float | None = Field(
        None, description="clientApplyBytes / 262,144, rounded to 4 places."
    )


class ChangedModel(BaseModel):
    model_config = _Config
    name: str
    changes: list[str] = Field(description="tags, latestTag, euRestricted, then field names.")


class CheckJson(BaseModel):
    """``generate --check``: how this run compares with the tree in --output."""

    model_config = _Config
    identical: bool
    treeExists: bool
    filesDiffer: list[str]
    unreadable: str | None = Field(description="Why the tree's ConfigMap could not be read.")
    added: list[str]
    removed: list[str]
    changed: list[ChangedModel]


class ModelLossJson(BaseModel):
    """The models of the previous result (the tree in --output, else --previous) not shipped."""

    model_config = _Config
    previous: str
    previousModels: int
    lost: list[str]
    share: float = Field(description="len(lost) / previousModels, rounded to 4 places.")
    maxLossPercent: float
    exceeded: bool = Field(description="share is over --max-loss (a warning was given).")


class RunJson(_Compact):
    """What every command's document has."""

    command: str
    ok: bool = Field(description="false when the run failed (then exitCode is not 0).")
    exitCode: int
    error: str | None = Field(None, description="The one-line error of a failed run.")
    errorDetails: list[str] | None = Field(None, description="Lines under the error.")
    warnings: list[str] = Field(default_factory=list, description="Every warning given.")


class _Collected(RunJson):
    """What collecting the catalog found (absent when the run failed before it)."""

    discovered: int | None = Field(None, description="Catalog resources seen.")
    skippedBySelection: int | None = None
    leftOutNoTag: list[str] = Field(default_factory=list, description="Models without a tag.")
    failed: list[FailedModel] = Field(default_factory=list)


class _EuDecided(RunJson):
    euRestricted: list[str] = Field(default_factory=list, description="Shipped euRestricted.")
    euUncertain: list[str] = Field(
        default_factory=list, description="Flagged only because their status is uncertain."
    )
    euSource: str | None = Field(None, description="The eu-source annotation; 'none' = no facts.")
    euUncertainReasons: dict[str, str] | None = Field(None, description="Uncertain model: why.")


class FetchJson(_Collected, _EuDecided):
    command: Literal["fetch"]
    fetched: int | None = None
    reused: int | None = Field(None, description="Records reused from --previous.")
    models: int | None = None
    output: str | None = None


class GenerateJson(FetchJson):
    command: Literal["generate"]  # type: ignore[assignment]
    configMap: ConfigMapJson | None = None
    check: CheckJson | None = None
    modelLoss: ModelLossJson | None = None


class RenderJson(_EuDecided):
    command: Literal["render"]
    skippedBySelection: int | None = None
    models: int | None = None
    output: str | None = None
    configMap: ConfigMapJson | None = None
    modelLoss: ModelLossJson | None = None


class VantageJson(_Compact):
    kind: Literal["local", "proxy"]
    proxy: str | None = None
    apiUrl: str


class InconclusiveModel(BaseModel):
    model_config = _Config
    name: str
    detail: str
    attempts: int


class ProbeJson(_Collected):
    command: Literal["probe-eu"]
    euRestricted: list[str] = Field(default_factory=list, description="Answered HTTP 451.")
    output: str | None = None
    probed: int | None = None
    probedAt: str | None = None
    vantage: VantageJson | None = None
    euInconclusive: list[InconclusiveModel] = Field(default_factory=list)


class VerifyKeyJson(RunJson):
    command: Literal["verify-key"]


class ImageJson(_Compact):
    source: str
    destination: str
    model: str
    tag: str | None = Field(None, description="For a digest reference: its tag.")
    digest: str | None = None
    platform: str | None = None


class StepJson(BaseModel):
    model_config = _Config
    what: str
    commands: list[str]
    alternative: bool


class MovingTagJson(BaseModel):
    model_config = _Config
    model: str
    tags: list[str] = Field(description="The moving tags (latest) it offers.")
    pinnedTag: str | None = Field(
        description="The newest version tag, offered and mirrored beside them (null: none)."
    )
    pinnedByDigest: bool = Field(description="--digests pins the moving tags' images.")


class StagedModelJson(BaseModel):
    """One model's weights: where they are staged and loaded."""

    model_config = _Config
    model: str
    image: str
    tag: str
    pvc: str
    loader: str = Field(description="The loader Pod that unpacks the archive into the PVC.")
    archive: str = Field(description="The archive stage-weights.sh writes (in nim-weights/).")


class WeightsJson(BaseModel):
    model_config = _Config
    project: str
    pvcSize: str
    storageClass: str | None = Field(description="null: the cluster's default.")
    gpus: list[str]
    models: list[StagedModelJson]


class AirgapJson(RunJson):
    """``airgap``: its lists ``leftOutNoTag``, ``failed`` and ``euUncertain`` are always
    empty; what it wrote (``images`` ... ``nextSteps``) is absent when the run failed."""

    kept_null: ClassVar[frozenset[str]] = frozenset({"weights"})
    command: Literal["airgap"]
    leftOutNoTag: list[str] = Field(default_factory=list)
    failed: list[FailedModel] = Field(default_factory=list)
    euUncertain: list[str] = Field(default_factory=list)
    skippedBySelection: int | None = None
    models: int | None = None
    euRestricted: list[str] = Field(default_factory=list)
    output: str | None = None
    configMap: ConfigMapJson | None = None
    mirror: str | None = None
    tags: str | None = None
    images: list[ImageJson] | None = None
    files: list[str] | None = Field(None, description="Written under output.")
    movingTags: list[MovingTagJson] | None = Field(
        None, description="Models offering a moving tag, and what pins each."
    )
    unpinnedMovingTags: list[str] | None = Field(
        None, description="Models whose moving tag nothing pins (a warning was given)."
    )
    weights: WeightsJson | None = Field(
        None, description="The weights to stage; null under --no-weights."
    )
    nextSteps: list[StepJson] | None = None


class ProblemJson(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")
    key: str
    message: str
    severity: Literal["error", "warning"]


class ValidatedFile(_Compact):
    model_config = ConfigDict(frozen=True, extra="allow")
    file: str
    valid: bool
    configMaps: int
    models: int
    problems: list[ProblemJson]
    unreadable: str | None = None


class ValidateJson(BaseModel):
    """``validate --json``: no ok/warnings; exitCode 0 valid, 1 problems, 2 unreadable."""

    model_config = _Config
    command: Literal["validate"]
    exitCode: int
    valid: bool
    files: list[ValidatedFile]


CommandJson = Annotated[
    GenerateJson | FetchJson | RenderJson | ProbeJson | VerifyKeyJson | AirgapJson | ValidateJson,
    Field(discriminator="command"),
]

MODELS: dict[str, type[BaseModel]] = {
    "generate": GenerateJson,
    "fetch": FetchJson,
    "render": RenderJson,
    "probe-eu": ProbeJson,
    "verify-key": VerifyKeyJson,
    "airgap": AirgapJson,
    "validate": ValidateJson,
}


def json_output_schema() -> dict[str, Any]:
    """The JSON Schema of every ``--json`` document, one ``$defs`` entry per command."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(CommandJson).json_schema()
    schema["title"] = "nimgen --json output"
    return schema
