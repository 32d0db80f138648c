"""The ServingRuntime patch of ``migrate-deployments``, without a cluster: the env var is
found by name wherever it sits, every change is guarded by a ``test`` op, and a runtime
already migrated needs nothing."""

from __future__ import annotations

import copy
import json
from typing import Any

from nimgen.cluster.migrate import patched, runtime_patch
from nimgen.cluster.secretdata import new_secret, pull_secret_config


def _runtime() -> dict[str, Any]:
    key = {
        "name": "NGC_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "nvidia-nim-secrets", "key": "NGC_API_KEY"}},
    }
    return {
        "metadata": {"name": "llama", "uid": "r1"},
        "spec": {
            "containers": [
                {"name": "sidecar", "env": [{"name": "X", "value": "1"}]},
                {
                    "name": "kserve-container",
                    "env": [
                        {"name": "NIM_CACHE_PATH", "value": "/c"},
                        {"name": "A", "value": "2"},
                        key,
                    ],
                },
            ],
            "imagePullSecrets": [{"name": "other-pull"}, {"name": "ngc-secret"}],
        },
    }


def _resolve(document: Any, path: str) -> Any:
    node = document
    for part in path.strip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_the_key_env_var_is_found_by_name_and_guarded() -> None:
    runtime = _runtime()
    ops = runtime_patch(runtime, "llama")
    assert ops[0] == {"op": "test", "path": "/metadata/uid", "value": "r1"}
    # every test op holds what the runtime holds now
    for op in ops:
        if op["op"] == "test":
            assert _resolve(runtime, op["path"]) == op["value"]
    changed = patched(runtime, ops)
    env = changed["spec"]["containers"][1]["env"]
    assert [e["name"] for e in env] == ["NIM_CACHE_PATH", "A", "NGC_API_KEY"]
    assert env[2]["valueFrom"]["secretKeyRef"] == {
        "name": "nim-api-key-llama",
        "key": "NGC_API_KEY",
    }
    assert changed["spec"]["imagePullSecrets"] == [
        {"name": "other-pull"},
        {"name": "nim-image-pull-llama"},
    ]
    assert changed["spec"]["containers"][0] == runtime["spec"]["containers"][0]
    assert runtime == _runtime()  # the input is not modified
    assert runtime_patch(changed, "llama") == []  # migrated: nothing more to do


def test_an_env_var_of_another_name_or_secret_is_left_alone() -> None:
    runtime = _runtime()
    env = runtime["spec"]["containers"][1]["env"]
    env[2]["valueFrom"]["secretKeyRef"]["name"] = "my-own-secret"
    runtime["spec"]["imagePullSecrets"] = []
    assert runtime_patch(runtime, "llama") == []
    other = copy.deepcopy(_runtime())
    other["spec"]["containers"][1]["env"][2]["name"] = "NOT_THE_KEY"
    ops = runtime_patch(other, "llama")
    assert all("/env/" not in op["path"] for op in ops)  # only the pull secret moves


def test_the_pull_secret_is_for_nvcr_with_the_oauthtoken_user() -> None:
    config = json.loads(pull_secret_config("nvapi-xyz"))
    entry = config["auths"]["nvcr.io"]
    assert entry["username"] == "$oauthtoken" and entry["password"] == "nvapi-xyz"
    import base64

    assert base64.b64decode(entry["auth"]).decode() == "$oauthtoken:nvapi-xyz"


def test_the_new_secrets_carry_the_key_and_are_redacted_before_use() -> None:
    import base64

    from nimgen.apikey import redact

    key = "nvapi-" + "k" * 40
    note = {"nimgen.opendatahub.io/created-for": "InferenceService/llama"}
    opaque = new_secret("nim-api-key-llama", "p", key, False, note)
    pull = new_secret("nim-image-pull-llama", "p", key, True, note)
    assert opaque["type"] == "Opaque" and pull["type"] == "kubernetes.io/dockerconfigjson"
    for secret, name in ((opaque, "nim-api-key-llama"), (pull, "nim-image-pull-llama")):
        assert secret["metadata"] == {"name": name, "namespace": "p", "annotations": note}
        assert (secret["apiVersion"], secret["kind"]) == ("v1", "Secret")
    assert base64.b64decode(opaque["data"]["NGC_API_KEY"]).decode() == key
    config = base64.b64decode(pull["data"][".dockerconfigjson"]).decode()
    assert config == pull_secret_config(key)
    # Registered for redaction as soon as built: plain, base64 and the whole config.
    for value in (key, opaque["data"]["NGC_API_KEY"], pull["data"][".dockerconfigjson"]):
        assert value not in redact(f"kubectl said: {value}")
