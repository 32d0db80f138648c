"""Render the NVIDIA NIM ServingRuntime Template (``nim-http-template``).

The Template is an OpenShift ``template.openshift.io/v1`` ``Template`` whose one object is a
KServe ``ServingRuntime`` without secrets; see the contract, "The ServingRuntime Template".
Its source is ``templates/nim-http-template.yaml.j2``, shipped in the wheel as
``nimgen/templates/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import nimgen

if TYPE_CHECKING:  # jinja2 is imported only when rendering, to keep this module light
    import jinja2

TEMPLATE_NAME = "nim-http-template"
RUNTIME_NAME = "nim-http-runtime"
TEMPLATE_FILENAME = "nim-http-template.yaml"
TEMPLATE_SOURCE = TEMPLATE_FILENAME + ".j2"


def templates_dir() -> Path:
    """The directory holding nimgen's Jinja2 templates.

    An installed wheel carries them in ``nimgen/templates/``; a source checkout or an editable
    install has them in the top-level ``templates/`` beside the ``nimgen`` package. The first
    that exists wins.
    """
    package_dir = Path(nimgen.__file__).resolve().parent
    candidates = (package_dir / "templates", package_dir.parent / "templates")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "nimgen's templates directory is missing: looked in "
        + " and ".join(str(candidate) for candidate in candidates)
    )


def template_variables() -> frozenset[str]:
    """The names ``render_template`` accepts as overrides (the template's free variables)."""
    import jinja2.meta

    env = _environment()
    source = (templates_dir() / TEMPLATE_SOURCE).read_text(encoding="utf-8")
    return frozenset(jinja2.meta.find_undeclared_variables(env.parse(source)))


def render_template(**overrides: str) -> str:
    """The Template as YAML text, ending with exactly one newline.

    With no overrides the output is the contract's Template, byte for byte the same on every
    run. ``overrides`` may set the template's optional variables (see ``template_variables``,
    e.g. ``display_name``); each must be a printable one-line string, and an unknown name is
    refused so that a typo cannot be silently ignored.
    """
    # Only overrides need the template's variables: finding them parses it once more.
    known = template_variables() if overrides else frozenset()
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(
            f"unknown template variable(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known)) or 'none'}"
        )
    for name, value in overrides.items():
        if not isinstance(value, str):
            raise TypeError(f"template variable {name} must be a string, not {type(value)!r}")
        if not value.isprintable():
            raise ValueError(f"template variable {name} must be printable on one line: {value!r}")

    text = _environment().get_template(TEMPLATE_SOURCE).render(**overrides)
    return text.rstrip("\n") + "\n"


def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # ``tojson`` writes YAML double-quoted scalars; keep non-ASCII text as is rather than
    # as \\u escapes, which some YAML readers mishandle for characters beyond the BMP.
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    return env
