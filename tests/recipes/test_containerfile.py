"""The Containerfile the release workflow builds: UBI Python, non-root, nimgen as entrypoint."""

from __future__ import annotations

import json
import re

from tests.recipes import shell
from tests.recipes.gha import ROOT

CONTAINERFILE = ROOT / "Containerfile"
BASES = ("registry.access.redhat.com/ubi9/python-311", "registry.access.redhat.com/ubi9/python-312")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuations joined, comments dropped."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    found = []
    for line in (line.strip() for line in text.splitlines()):
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_containerfile() -> None:
    steps = instructions()
    known = {"ARG", "FROM", "USER", "WORKDIR", "COPY", "RUN", "LABEL", "ENV", "ENTRYPOINT", "CMD"}
    assert {word for word, _ in steps} <= known
    stages: dict[str, str] = {}
    for word, rest in steps:
        if word == "FROM":
            image, *alias = rest.split()
            stages[alias[-1] if alias else ""] = stages.get(image, image)
    # every stage is UBI Python, pinned by digest, its tag beside it for the reader
    for base in stages.values():
        name, _, digest = base.partition("@")
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), base
        assert name.rpartition(":")[0] in BASES, base
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1] == "1001"
    [entrypoint] = [json.loads(rest) for word, rest in final if word == "ENTRYPOINT"]
    assert entrypoint == ["nimgen"]
    [cmd] = [json.loads(rest) for word, rest in final if word == "CMD"]
    assert all(option in shell.options(None) for option in cmd if option.startswith("-"))
    assert ("COPY", "LICENSE /licenses/LICENSE") in final
    runs = "\n".join(rest for word, rest in steps if word == "RUN")
    assert "nimgen-*.whl" in runs
    # pip installs the lock (hashes checked), or a wheel built here without its dependencies
    for install in re.findall(r"pip install [^&]*", runs):
        assert "--require-hashes -r " in install or "--no-deps" in install, install
    shell.assert_real_nimgen_calls(runs, "Containerfile")


def test_containerfile_copies_files_that_exist() -> None:
    """What it copies from the checkout is there (the release tests, which run without the
    source package next to the installed wheel, leave this one out)."""
    for word, rest in instructions():
        if word == "COPY" and "--from=" not in rest:
            for source in [p for p in rest.split()[:-1] if not p.startswith("--")]:
                assert (ROOT / source).exists(), source
