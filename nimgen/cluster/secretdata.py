"""Secret values read from or written to a cluster: kept out of every output.

Every Secret nimgen reads goes through ``protect`` first: each value, base64 and
decoded (and the password inside a ``.dockerconfigjson``), is registered with
``nimgen.apikey.register_secret``, so ``redact`` scrubs it from anything printed.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json

from nimgen.apikey import register_secret
from nimgen.cluster.kube import JsonObject
from nimgen.cluster.usage import KEY_ENV

REGISTRY = "nvcr.io"
REGISTRY_USER = "$oauthtoken"
DOCKER_CONFIG_TYPE = "kubernetes.io/dockerconfigjson"
DOCKER_CONFIG_KEY = ".dockerconfigjson"
# Shorter values (flags, small numbers) would scrub ordinary words from the output.
_MIN_SECRET_LENGTH = 8


def decode(value: object) -> str | None:
    """A Secret ``data`` value as text; None when it is not base64 of UTF-8."""
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _register(text: str) -> None:
    text = text.strip()
    if len(text) >= _MIN_SECRET_LENGTH:
        register_secret(text)


def protect(document: JsonObject, *, keep_values: bool) -> JsonObject:
    """A copy of a Secret with every value registered for redaction.

    Without ``keep_values`` the copy's ``data`` is dropped (only its key names remain,
    in ``dataKeys``), so the values go no further than this function. The
    ``last-applied-configuration`` annotation, which holds the values again when the
    Secret was made by client-side ``kubectl apply``, is always dropped.
    """
    data = document.get("data") or {}
    for value in data.values():
        if not isinstance(value, str):
            continue
        _register(value)
        text = decode(value)
        if text is None:
            continue
        _register(text)
        for auth in _docker_auths(text):
            for field in ("password", "auth"):
                if isinstance(auth.get(field), str):
                    _register(auth[field])
    annotations = (document.get("metadata") or {}).get("annotations") or {}
    for value in annotations.values():
        if isinstance(value, str) and '"data"' in value:
            _register(value)
    safe = copy.deepcopy(document)
    safe_annotations = safe.get("metadata", {}).get("annotations")
    if isinstance(safe_annotations, dict):
        safe_annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if not keep_values:
        safe["dataKeys"] = sorted(str(k) for k in data)
        safe.pop("data", None)
    return safe


def _docker_auths(text: str) -> list[JsonObject]:
    try:
        config = json.loads(text)
    except json.JSONDecodeError:
        return []
    auths = config.get("auths") if isinstance(config, dict) else None
    return [a for a in auths.values() if isinstance(a, dict)] if isinstance(auths, dict) else []


def encode(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def pull_secret_config(key: str) -> str:
    """The ``.dockerconfigjson`` that lets a pod pull from ``nvcr.io`` with an NGC key."""
    auth = encode(f"{REGISTRY_USER}:{key}")
    config = {"auths": {REGISTRY: {"username": REGISTRY_USER, "password": key, "auth": auth}}}
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def key_secret(name: str, namespace: str, key: str, annotations: dict[str, str]) -> JsonObject:
    """A Secret holding an NGC key as ``NGC_API_KEY``, the variable a NIM container reads."""
    return _new_secret(name, namespace, "Opaque", {KEY_ENV: key}, annotations)


def pull_secret(name: str, namespace: str, key: str, annotations: dict[str, str]) -> JsonObject:
    """A Secret that lets a pod pull from ``nvcr.io`` with an NGC key."""
    data = {DOCKER_CONFIG_KEY: pull_secret_config(key)}
    return _new_secret(name, namespace, DOCKER_CONFIG_TYPE, data, annotations)


def _new_secret(
    name: str, namespace: str, kind: str, data: dict[str, str], annotations: dict[str, str]
) -> JsonObject:
    """A Secret to create, its ``data`` base64-encoded. Its values (base64 and plain) are
    registered for redaction first, so not even an error kubectl echoes can show them."""
    document: JsonObject = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "type": kind,
        "data": {key: encode(value) for key, value in data.items()},
    }
    protect(document, keep_values=True)
    return document
