"""pydantic's reading of NGC's answers: the reference ``parse``'s fast checks agree with.

``parse`` checks each answer in plain Python and loads this module (and pydantic, about
0.075 s of CPU) only for an answer its checks do not accept: pydantic then decides, and
its reasons name what is wrong. The classes keep their names: pydantic's messages quote
them ("a valid dictionary or instance of _Attribute").
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic import ValidationError as ValidationError


class _Attribute(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: StrictStr
    value: StrictStr | None = None


class _Resource(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resourceId: StrictStr
    name: StrictStr
    displayName: StrictStr | None = None
    dateModified: StrictStr | None = None
    attributes: list[_Attribute] = Field(default_factory=list)


class _Group(BaseModel):
    model_config = ConfigDict(extra="ignore")
    groupValue: StrictStr
    resources: list[Any] = Field(default_factory=list)


class _Params(BaseModel):
    model_config = ConfigDict(extra="ignore")
    page: int


class _CatalogPage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resultTotal: StrictInt = Field(ge=0)
    resultPageTotal: StrictInt = Field(ge=0)
    params: _Params
    results: list[_Group] = Field(default_factory=list)


class _RepoAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: StrictStr
    displayName: StrictStr
    shortDescription: StrictStr
    namespace: StrictStr = Field(min_length=1)
    tags: list[StrictStr] = Field(min_length=1)
    latestTag: StrictStr = Field(min_length=1)
    updatedDate: StrictStr


# Public names for ``parse``; the classes keep theirs (see above).
Attribute = _Attribute
Resource = _Resource
Group = _Group
Params = _Params
CatalogPage = _CatalogPage
RepoAnswer = _RepoAnswer


def validation_reason(exc: ValidationError) -> str:
    """The first three problems, one line: where (dotted) and what."""
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "answer"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
