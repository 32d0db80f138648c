"""Image references: where the mirror is (``--mirror``), what one image to copy is, and why a
model's name or tag cannot be one (before any file is written)."""

from __future__ import annotations

from dataclasses import dataclass

from nimgen.catalog import ModelRecord
from nimgen.errors import BadInput
from nimgen.names import IMAGE_NAME_MAX, IMAGE_PATH_COMPONENT, REGISTRY_HOST
from nimgen.tags import tag_problem

SOURCE_REGISTRY = "nvcr.io"
_USAGE = "--mirror takes REGISTRY[/PREFIX], e.g. registry.example.com:5000/nim-mirror"
_OWN_TAG = "nimgen keeps each image's own tag. " + _USAGE


@dataclass(frozen=True)
class Mirror:
    """Where the mirrored images live: a registry host and an optional path prefix."""

    registry: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"{self.registry}/{self.prefix}" if self.prefix else self.registry

    def repository(self, path: str) -> str:  # the mirror of nvcr.io/{path}
        return f"{self}/{path}"


def parse_mirror(text: str) -> Mirror:
    """Check ``REGISTRY[/PREFIX]``: a host (with a dot or a port, or localhost), no scheme,
    no tag, no digest, and a lower-case path."""
    value = text.strip()
    bad = f"--mirror {text!r}:"
    if not value:
        raise BadInput(f"{_USAGE}; it is empty")
    if "://" in value:
        scheme, _, rest = value.partition("://")
        raise BadInput(
            f"{bad} give the registry without a scheme ({scheme}://): --mirror {rest.rstrip('/')}"
        )
    if any(c.isspace() for c in value):
        raise BadInput(f"{bad} must not contain spaces. {_USAGE}")
    if "@" in value:
        raise BadInput(f"{bad} a digest (@...) names an image, not a place to mirror to. {_USAGE}")
    host_port, _, prefix = value.rstrip("/").partition("/")
    host, colon, port = host_port.partition(":")
    if host.startswith("[") and "]" in host_port:  # [IPv6]:port
        host, _, rest = host_port.partition("]")
        host += "]"
        colon, port = (":", rest[1:]) if rest.startswith(":") else ("", "")
    if colon and not (port.isdigit() and 0 < int(port) < 65536):
        if not prefix:
            raise BadInput(f"{bad} {port!r} is not a port; a tag is not allowed here, {_OWN_TAG}")
        raise BadInput(f"{bad} {port!r} is not a port number. {_USAGE}")
    if not REGISTRY_HOST.fullmatch(host):
        raise BadInput(f"{bad} {host!r} is not a registry host name. {_USAGE}")
    if not (colon or "." in host or host == "localhost" or host.startswith("[")):
        raise BadInput(
            f"{bad} {host!r} does not look like a registry host (a registry needs a dot or a "
            f"port in its name, or localhost; otherwise it is read as a Docker Hub path). {_USAGE}"
        )
    if host.lower() == SOURCE_REGISTRY:
        raise BadInput(f"{bad} the mirror must be your registry, not {SOURCE_REGISTRY}")
    for component in prefix.split("/") if prefix else ():
        if ":" in component:
            tag = component.partition(":")[2]
            raise BadInput(
                f"{bad} ends in a tag ({tag!r}); give only the registry and path, {_OWN_TAG}"
            )
        if not IMAGE_PATH_COMPONENT.fullmatch(component):
            why = "is empty" if not component else "is not a valid repository path component"
            if component and component.lower() != component:
                why = "has upper-case letters (registry paths are lower-case)"
            raise BadInput(f"{bad} the path part {component!r} {why}")
    return Mirror(registry=f"{host}{':' + port if colon else ''}", prefix=prefix)


@dataclass(frozen=True)
class Image:
    """``nvcr.io/{repository}:{tag}`` to mirror to ``{mirror}/{repository}:{tag}``; with
    ``digest`` the image of ``tag`` for one ``platform`` (``os/arch``), pinned."""

    model: str
    repository: str  # "{namespace}/{name}", e.g. nim/meta/llama-3.1-8b-instruct
    tag: str
    mirror: Mirror
    digest: str | None = None
    platform: str | None = None

    @property
    def reference(self) -> str:  # ":tag", or "@sha256:..."
        return f"@{self.digest}" if self.digest else f":{self.tag}"

    @property
    def source(self) -> str:
        return f"{SOURCE_REGISTRY}/{self.repository}{self.reference}"

    @property
    def destination(self) -> str:
        return f"{self.mirror.repository(self.repository)}{self.reference}"


def reference_problems(record: ModelRecord, tags: tuple[str, ...]) -> list[str]:
    """Why ``nvcr.io/{namespace}/{name}:{tag}`` is not a valid image reference, if it is not."""
    repository = f"{record.namespace}/{record.name}"
    problems = [
        f"{record.name}: {repository!r} is not a valid image repository ({bad!r}: "
        "lower-case letters, digits and single separators only)"
        for bad in repository.split("/")
        if not IMAGE_PATH_COMPONENT.fullmatch(bad)
    ][:1]
    if len(f"{SOURCE_REGISTRY}/{repository}") > IMAGE_NAME_MAX:
        problems.append(f"{record.name}: the image name is over {IMAGE_NAME_MAX} characters")
    problems.extend(
        f"{record.name}: {tag!r} is not a valid image tag"
        for tag in tags
        if tag_problem(tag) is not None
    )
    return problems
