from nimgen.tags import canonical_tags


def test_versions_descend_by_numeric_parts() -> None:
    assert canonical_tags(["1.9", "1.10", "1.2"]) == ("1.10", "1.9", "1.2")


def test_longer_version_before_its_prefix() -> None:
    assert canonical_tags(["1", "1.2", "1.2.0"]) == ("1.2.0", "1.2", "1")


def test_variant_right_after_its_base() -> None:
    tags = ["1.8.0-rtx", "1.8.1", "1.8.0", "1.8", "latest"]
    assert canonical_tags(tags) == ("1.8.1", "1.8.0", "1.8.0-rtx", "1.8", "latest")


def test_variant_without_base_sits_where_the_base_would() -> None:
    assert canonical_tags(["1.9.0", "1.8.0-RTX", "1.7"]) == ("1.9.0", "1.8.0-RTX", "1.7")


def test_non_versions_last_alphabetically() -> None:
    assert canonical_tags(["rtx-latest", "latest", "1.0", "dev"]) == (
        "1.0",
        "dev",
        "latest",
        "rtx-latest",
    )


def test_real_variants_and_duplicates() -> None:
    tags = [
        "2.1.0-41313772",
        "1.14.0-pb5.1-stig-fips-x86-64",
        "1.14.0",
        "2.1.0",
        "1.14.0",
        "latest",
        "1.15.5",
        "1.15",
        "1",
    ]
    assert canonical_tags(tags) == (
        "2.1.0",
        "2.1.0-41313772",
        "1.15.5",
        "1.15",
        "1.14.0",
        "1.14.0-pb5.1-stig-fips-x86-64",
        "1",
        "latest",
    )


def test_fixture_model_order() -> None:
    tags = ["1.15.5", "1.15.4", "1.15", "1", "latest", "1.8.0-RTX", "1.8", "1.8.6"]
    assert canonical_tags(tags) == (
        "1.15.5",
        "1.15.4",
        "1.15",
        "1.8.6",
        "1.8.0-RTX",
        "1.8",
        "1",
        "latest",
    )
