"""The ServingRuntime Template ``nim-http-template`` (docs/contract.md), and the Jinja2
templates it and the air gap's staging script are rendered from."""

from __future__ import annotations

from pathlib import Path

import nimgen

TEMPLATE_NAME = "nim-http-template"
TEMPLATE_FILENAME = "nim-http-template.yaml"


def templates_dir() -> Path:
    """nimgen's Jinja2 templates: ``nimgen/templates/`` in a wheel, else the top-level
    ``templates/`` beside the package (a checkout or an editable install)."""
    package = Path(nimgen.__file__).resolve().parent
    candidates = (package / "templates", package.parent / "templates")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "nimgen's templates directory is missing: looked in " + " and ".join(map(str, candidates))
    )


def render_jinja(source: str, **variables: object) -> str:
    """Render ``source`` of ``templates_dir()``: undefined names fail, one newline at the end."""
    import jinja2  # only when rendering

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return environment.get_template(source).render(**variables).rstrip("\n") + "\n"


def render_template() -> str:
    """The Template as YAML text, byte for byte the same on every run."""
    return render_jinja(TEMPLATE_FILENAME + ".j2")
