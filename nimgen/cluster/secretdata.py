"""Secret values read from or written to a cluster: registered for redaction, never printed."""

from __future__ import annotations

import base64
import binascii
import copy
import json

from nimgen.apikey import register_secret
from nimgen.cluster.kube import JsonObject

# The old dashboard's per-project Secrets: the key (``NGC_API_KEY``) and the nvcr.io pull secret.
SHARED_KEY_SECRET = "nvidia-nim-secrets"
SHARED_PULL_SECRET = "ngc-secret"
SHARED_SECRETS = (SHARED_KEY_SECRET, SHARED_PULL_SECRET)
KEY_ENV = "NGC_API_KEY"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

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


def _register_values(data: object) -> None:
    """Every value of a Secret's ``data`` (base64) or ``stringData`` (plain), in every form
    it can be printed in: base64, decoded, and a docker config's password and auth (the
    rest of its JSON holds names)."""
    for value in data.values() if isinstance(data, dict) else ():
        text = decode(value) or value
        auths = _docker_auths(text) if isinstance(text, str) else []
        forms = [a.get(f) for a in auths for f in ("password", "auth")] if auths else [text]
        for form in (value, *forms):
            if isinstance(form, str) and len(form.strip()) >= _MIN_SECRET_LENGTH:
                register_secret(form.strip())


def protect(document: JsonObject, *, keep_values: bool) -> JsonObject:
    """A copy of a Secret with every value registered for redaction - only the values, never
    a name. Without ``keep_values`` the copy has no ``data``, only its key names
    (``dataKeys``). kubectl's ``last-applied-configuration`` annotation, which repeats the
    values of a Secret made by client-side ``kubectl apply``, is always dropped."""
    data = document.get("data") or {}
    _register_values(data)
    safe = copy.deepcopy(document)
    annotations = safe.get("metadata", {}).get("annotations")
    if isinstance(annotations, dict) and isinstance(annotations.get(LAST_APPLIED), str):
        try:
            applied = json.loads(annotations.pop(LAST_APPLIED))
        except json.JSONDecodeError:
            applied = {}
        if isinstance(applied, dict):
            _register_values(applied.get("data"))
            _register_values(applied.get("stringData"))
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


def new_secret(
    name: str, namespace: str, key: str, pull: bool, annotations: dict[str, str]
) -> JsonObject:
    """A Secret holding an NGC key: as ``NGC_API_KEY`` (what a NIM container reads), or with
    ``pull`` as the docker config that pulls from ``nvcr.io``. Its values are registered for
    redaction first, so not even an error kubectl echoes can show them."""
    data = {DOCKER_CONFIG_KEY: pull_secret_config(key)} if pull else {KEY_ENV: key}
    kind = DOCKER_CONFIG_TYPE if pull else "Opaque"
    document: JsonObject = {"apiVersion": "v1", "kind": "Secret", "type": kind}
    document["metadata"] = {"name": name, "namespace": namespace, "annotations": annotations}
    document["data"] = {k: encode(v) for k, v in data.items()}
    _register_values(document["data"])
    return document
