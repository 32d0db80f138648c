"""NGC's answers turned into records and digests: real ones (tests/fixtures/ngc), odd shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nimgen.catalog import ImageDigest
from nimgen.collection import CatalogEntry
from nimgen.ngc.client import PermanentError, RetryableError
from nimgen.ngc.parse import digests_from_answer, parse_catalog_page, record_from_answer

NGC = Path(__file__).resolve().parents[1] / "fixtures" / "ngc"
MODEL = "llama-3.1-8b-instruct"
ENTRY = CatalogEntry(f"nim/meta/{MODEL}", "nim", "meta", MODEL, "2025", "1.0", "2025")


def page_of(*resources: Any, page: int = 0) -> dict[str, Any]:
    group = {"groupValue": "CONTAINER", "resources": list(resources)}
    return {"resultTotal": 3, "resultPageTotal": 1, "params": {"page": page}, "results": [group]}


def test_real_catalog_page_parses() -> None:
    body = json.loads((NGC / "catalog-search-page.json").read_text())
    page = parse_catalog_page(body, 0)
    assert page.page_total == 90 and page.result_total == 180
    resources = body["results"][1]["resources"]
    assert [e.resource_id for e in page.entries] == [r["resourceId"] for r in resources]
    assert page.listed == len(resources)
    assert all(e.latest_tag for e in page.entries)


LAX = {"resultPageTotal": 1, "params": {"page": 4}}


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"resultTotal": -1},
        {"resultTotal": "x"},
        {**LAX, "resultTotal": True},  # totals are plain integers, nothing converted
        {**LAX, "resultTotal": "60"},
        {**LAX, "resultTotal": 60.0},
    ],
)
def test_a_malformed_page_is_worth_another_read(body: object) -> None:
    with pytest.raises(RetryableError, match="catalog page 4 is malformed"):
        parse_catalog_page(body, 4)


def test_a_malformed_resource_fails_that_model_by_name_the_rest_are_entries() -> None:
    resources = (
        {"resourceId": "nim/x", "name": "x", "attributes": [5]},
        7,
        {"resourceId": "nim/y", "name": "y", "displayName": 3},
        {"resourceId": "nim/z", "name": "z", "attributes": [{"key": "a"}]},
        {"resourceId": "a/b/c/d", "name": "d"},
    )
    page = parse_catalog_page(page_of(*resources, page=2), 2)
    assert [(f.name, f.reason, f.resource_id) for f in page.invalid] == [
        (
            "x",
            "catalog entry: attributes.0: Input should be a valid dictionary or instance of "
            "Attribute",
            "nim/x",
        ),
        (
            "catalog page 2 item 1",
            "catalog entry: document: Input should be a valid dictionary or instance of Resource",
            "",
        ),
        ("y", "catalog entry: displayName: Input should be a valid string", "nim/y"),
        ("d", "catalog entry: resourceId 'a/b/c/d' is not org/name or org/team/name", "a/b/c/d"),
    ]
    (entry,) = page.entries
    assert (entry.name, entry.team, entry.latest_tag, page.listed) == ("z", None, None, 5)


def test_real_model_answer_becomes_a_record() -> None:
    body = json.loads((NGC / "repo-llama-3.1-8b-instruct.json").read_text())
    record = record_from_answer(body, ENTRY)
    assert digests_from_answer(body, record.latestTag) == (
        ImageDigest(
            tag="1.2.2",
            architecture="amd64",
            os="linux",
            digest="sha256:e990eb6915c0917509318942bb5440291b0a2d498bdd6f2ebc1b8dfc4580f2d4",
        ),
    )
    assert record.name == MODEL
    assert record.tags[0] == "1.2.2" and record.tags[-1] == "latest"
    assert record.euRestricted is False
    for changes, says in (
        ({"tags": "not-a-list"}, "answer failed validation: tags: Input should be a valid tuple"),
        ({"namespace": "", "tags": []}, "namespace: String should have at least 1 character (and"),
        ({"latestTag": "9"}, "latestTag '9' is not among the model's tags"),
        ({"name": "a/b"}, "'a/b' is not a valid ConfigMap key"),
    ):
        with pytest.raises(PermanentError) as failed:
            record_from_answer({**body, **changes}, ENTRY)
        assert says in str(failed.value)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        (
            {"name": "totally-different-model"},
            "the answer's namespace 'nim/meta' and name 'totally-different-model' are not those "
            f"of its catalog resource 'nim/meta/{MODEL}'",
        ),
        ({"namespace": "nim/other"}, "namespace 'nim/other' and name"),
        ({"namespace": "evil/../../x y"}, "'evil/../../x y' is not org or org/team"),
        ({"tags": ["1.0 ; rm -rf /", "1.2.2"]}, "'1.0 ; rm -rf /' is not a valid image tag"),
        ({"tags": ["\u202etag", "1.2.2"]}, "'\\u202etag' is not a valid image tag"),
        ({"tags": ["9" * 5000, "1.2.2"]}, f"'{'9' * 64}...' is not a valid image tag"),
    ],
)
def test_an_answer_that_contradicts_its_catalog_resource_fails_that_model(
    changes: dict[str, Any], says: str
) -> None:
    body = json.loads((NGC / "repo-llama-3.1-8b-instruct.json").read_text())
    with pytest.raises(PermanentError) as failed:
        record_from_answer({**body, **changes, "latestTag": "1.2.2"}, ENTRY)
    assert says in str(failed.value)


# --- image digests: the latest tag's, from latestArchitectureVariants -------------------


def sha(char: str) -> str:
    return "sha256:" + char * 64


def variant(architecture: Any = "amd64", os: Any = "linux", digest: Any = None) -> dict[str, Any]:
    return {"architecture": architecture, "os": os, "digest": digest or sha("a"), "rating": "A"}


def test_multi_arch_gives_one_digest_per_platform_in_order() -> None:
    body = {"latestArchitectureVariants": [variant("arm64", digest=sha("b")), variant("amd64")]}
    found = digests_from_answer(body, "1.0")
    assert [(d.tag, d.platform, d.digest) for d in found] == [
        ("1.0", "linux/amd64", sha("a")),
        ("1.0", "linux/arm64", sha("b")),
    ]
    assert len(digests_from_answer({"latestArchitectureVariants": [variant()] * 2}, "1")) == 1


@pytest.mark.parametrize(
    "bad",
    [
        "not-an-object",
        None,
        {"os": "linux", "digest": sha("c")},  # no architecture
        variant(os=None),
        variant(digest="md5:abc"),
        variant(digest="sha256:" + "C" * 64),  # upper-case hex is not an OCI sha256 digest
        variant(digest="sha256:" + "c" * 63),
        variant(digest=12),
        variant(architecture=""),
        variant(architecture="amd 64"),
        variant(architecture=["amd64"]),
    ],
)
def test_a_malformed_variant_is_skipped_never_fatal(bad: Any) -> None:
    body = {"latestArchitectureVariants": [bad, variant("arm64", digest=sha("d"))]}
    found = digests_from_answer(body, "1.0")
    assert [(d.platform, d.digest) for d in found] == [("linux/arm64", sha("d"))]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"latestArchitectureVariants": None},
        {"latestArchitectureVariants": {"amd64": sha("a")}},
        [],
        # two different digests for one platform: nothing is guessed
        {"latestArchitectureVariants": [variant(), variant(digest=sha("e"))]},
    ],
)
def test_no_usable_variants_means_no_digests(body: Any) -> None:
    assert digests_from_answer(body, "1.0") == ()
