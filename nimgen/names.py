"""Names Kubernetes and container registries accept, each rule written once; a check returns
why a name is refused, or None. From k8s.io/apimachinery ``pkg/util/validation`` and
github.com/distribution/reference ``regexp.go``.
"""

from __future__ import annotations

import re

# --- RFC 1123 names (apimachinery IsDNS1123Label / IsDNS1123Subdomain) -------------------

DNS_LABEL_MAX = 63  # DNS1123LabelMaxLength
DNS_SUBDOMAIN_MAX = 253  # DNS1123SubdomainMaxLength
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _rfc1123_problem(
    name: str, pattern: re.Pattern[str], limit: int, what: str, allowed: str
) -> str | None:
    if not name:
        return "is empty"
    if len(name) > limit:
        return f"is {len(name)} characters long (at most {limit})"
    if not pattern.fullmatch(name):
        return (
            f"{name!r} is not a valid {what} ({allowed}, "
            "starting and ending with a letter or digit)"
        )
    return None


def dns_subdomain_problem(name: str) -> str | None:
    """Why ``name`` cannot name a Kubernetes object (RFC 1123 subdomain), or None."""
    return _rfc1123_problem(
        name,
        _DNS_SUBDOMAIN,
        DNS_SUBDOMAIN_MAX,
        "object name",
        "lower-case letters, digits, '-' and '.'",
    )


def dns_label_problem(name: str) -> str | None:
    """Why ``name`` cannot name a namespace (RFC 1123 label), or None."""
    return _rfc1123_problem(
        name, _DNS_LABEL, DNS_LABEL_MAX, "namespace name", "lower-case letters, digits and '-'"
    )


# --- ConfigMap keys (apimachinery IsConfigMapKey) ----------------------------------------
#
# At most 253 bytes, ^[-._a-zA-Z0-9]+$, and not ".", ".." or "..*" (hasChDirPrefix). The
# regex admits only ASCII, so characters and Go's bytes count the same for any name that
# passes it. Python's fullmatch anchors at the very end (Go's "$" without (?m)).

CONFIGMAP_KEY_PATTERN = r"[-._a-zA-Z0-9]+"
CONFIGMAP_KEY_MAX = DNS_SUBDOMAIN_MAX
# The whole rule as one ECMA-262 pattern, for the published JSON Schema.
CONFIGMAP_KEY_SCHEMA_PATTERN = rf"^(?!\.\.)(?!\.$){CONFIGMAP_KEY_PATTERN}$"
_KEY_RE = re.compile(CONFIGMAP_KEY_PATTERN)


def configmap_key_problem(name: str) -> str | None:
    """Why ``name`` cannot be a ConfigMap key (the API server's rule), or None when it can."""
    if not name:
        return "the name is empty"
    # surrogatepass: a lone surrogate (JSON's "\ud800") is refused below, not a crash here.
    if len(name.encode("utf-8", "surrogatepass")) > CONFIGMAP_KEY_MAX:
        return (
            f"the name is {len(name)} characters long "
            f"(a ConfigMap key holds at most {CONFIGMAP_KEY_MAX})"
        )
    if not _KEY_RE.fullmatch(name):
        return f"{name!r} is not a valid ConfigMap key (allowed: letters, digits, '-', '_', '.')"
    if name in (".", ".."):
        return f"{name!r} is not a valid ConfigMap key"
    if name.startswith(".."):
        return f"{name!r} is not a valid ConfigMap key (it must not start with '..')"
    return None


# --- Image references (distribution/reference) ------------------------------------------

# One path component of a repository name: lower-case, single separators.
IMAGE_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
REGISTRY_HOST = re.compile(rf"(?:{_HOST_LABEL})(?:\.{_HOST_LABEL})*|\[[0-9A-Fa-f:.]+\]")
# NameTotalLengthMax: registry, path and name together.
IMAGE_NAME_MAX = 255
