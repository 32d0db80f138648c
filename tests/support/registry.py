"""Real OCI registries on loopback, tiny OCI images to fill them, and skopeo to copy.

``Registry`` runs the CNCF Distribution registry (Debian's ``docker-registry``
package) on ``127.0.0.1`` with a free port, its own config file and storage in a
temporary directory, no TLS and no auth; it is stopped by PID. ``OciLayout`` writes
small but real OCI images (a config blob, one tar layer, a manifest, and an image
index when there are several platforms) into an OCI layout directory, which
``Skopeo.copy`` pushes with ``oci:DIR:REF``. ``Skopeo`` runs with its own policy and
an empty registries.conf, without proxies, so nothing on the machine changes what it
does.

Install the programs with: ``apt-get install -y docker-registry skopeo``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.net import free_port

REGISTRY_BINARY = "docker-registry"
SKOPEO_BINARY = "skopeo"
INSTALL_HINT = "apt-get install -y docker-registry skopeo"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
_START_TIMEOUT = 30.0
_STOP_GRACE = 10.0
_COMMAND_TIMEOUT = 120.0
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class RegistryError(RuntimeError):
    """A registry did not start, or skopeo failed."""


def missing_reason() -> str | None:
    """Why the registry tests cannot run here, or None."""
    missing = [b for b in (REGISTRY_BINARY, SKOPEO_BINARY) if shutil.which(b) is None]
    if missing:
        return f"{' and '.join(missing)} not installed ({INSTALL_HINT})"
    return None


def _no_proxy_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Registry:
    """One Distribution registry on 127.0.0.1, started by ``start()``."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the registry part of an image reference."""
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        storage = self.root / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {storage}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n",
            encoding="utf-8",
        )
        return config

    def start(self) -> Registry:
        """Start on a free port; a port taken between choosing and binding is retried."""
        last = ""
        for _attempt in range(3):
            self.port = free_port()
            config = self._write_config()
            log = (self.root / "registry.log").open("ab")
            try:
                self._process = subprocess.Popen(
                    [REGISTRY_BINARY, "serve", str(config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            finally:
                log.close()
            if self._wait_ready():
                return self
            last = (self.root / "registry.log").read_text(errors="replace")[-2000:]
            self.stop()
        raise RegistryError(f"registry {self.name} did not start: {last}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT
        opener = _no_proxy_opener()
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                with opener.open(f"http://{self.host}/v2/", timeout=2) as answer:
                    if answer.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=_STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_GRACE)

    def _get_json(self, path: str) -> Any:
        with _no_proxy_opener().open(f"http://{self.host}{path}", timeout=10) as answer:
            return json.loads(answer.read())

    def repositories(self) -> list[str]:
        """Every repository the registry holds (``/v2/_catalog``), sorted."""
        return sorted(self._get_json("/v2/_catalog?n=1000")["repositories"])

    def tags(self, repository: str) -> list[str]:
        return sorted(self._get_json(f"/v2/{repository}/tags/list")["tags"] or [])


@dataclass(frozen=True)
class BuiltImage:
    """One image written into an OCI layout: what ``skopeo inspect --raw`` must return."""

    ref_name: str
    digest: str  # of the top manifest or index
    platform_digests: dict[str, str] = field(default_factory=dict)  # "os/arch" -> digest


class OciLayout:
    """An OCI image layout directory holding several small images, one per ref name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}', encoding="utf-8")
        self._index: list[dict[str, Any]] = []
        self._write_index()

    def _blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def _write_index(self) -> None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self._index}
        (self.root / "index.json").write_text(json.dumps(index), encoding="utf-8")

    @staticmethod
    def _layer(text: str) -> tuple[bytes, str]:
        """A gzipped one-file tar (skopeo would compress a plain one on push, which
        changes the manifest), and the diff ID of the uncompressed tar."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            data = text.encode("utf-8")
            info = tarfile.TarInfo("hello.txt")
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
        plain = buffer.getvalue()
        return gzip.compress(plain, mtime=0), "sha256:" + hashlib.sha256(plain).hexdigest()

    def _manifest(self, payload: str, os_name: str, architecture: str) -> dict[str, Any]:
        layer_bytes, diff_id = self._layer(f"{payload} on {os_name}/{architecture}\n")
        layer = self._blob(layer_bytes, OCI_LAYER)
        config = {
            "architecture": architecture,
            "os": os_name,
            "config": {"Cmd": ["cat", "/hello.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
        config_blob = self._blob(json.dumps(config, sort_keys=True).encode(), OCI_CONFIG)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_blob,
            "layers": [layer],
        }
        return self._blob(json.dumps(manifest, sort_keys=True).encode(), OCI_MANIFEST)

    def add_image(
        self, ref_name: str, payload: str, platforms: Sequence[str] = ("linux/amd64",)
    ) -> BuiltImage:
        """An image under ``ref_name``: one manifest, or an index when several platforms."""
        per_platform: dict[str, dict[str, Any]] = {}
        for platform in platforms:
            os_name, _, architecture = platform.partition("/")
            per_platform[platform] = self._manifest(payload, os_name, architecture)
        if len(platforms) == 1:
            top = dict(per_platform[platforms[0]])
        else:
            entries = [
                dict(d, platform={"os": p.partition("/")[0], "architecture": p.partition("/")[2]})
                for p, d in per_platform.items()
            ]
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
            top = self._blob(json.dumps(index, sort_keys=True).encode(), OCI_INDEX)
        top["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
        self._index.append(top)
        self._write_index()
        return BuiltImage(
            ref_name=ref_name,
            digest=top["digest"],
            platform_digests={p: d["digest"] for p, d in per_platform.items()},
        )


class Skopeo:
    """skopeo with a policy of its own, an empty registries.conf and no proxies, no TLS."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.policy = workdir / "policy.json"
        self.policy.write_text(
            json.dumps({"default": [{"type": "insecureAcceptAnything"}]}), encoding="utf-8"
        )
        registries = workdir / "registries.conf"
        registries.write_text("", encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}
        self.env["CONTAINERS_REGISTRIES_CONF"] = str(registries)
        self.env["REGISTRY_AUTH_FILE"] = str(workdir / "auth.json")
        self.env["NO_PROXY"] = "127.0.0.1,localhost"

    def run(self, *args: str) -> bytes:
        command = [SKOPEO_BINARY, "--policy", str(self.policy), *args]
        result = subprocess.run(
            command, env=self.env, capture_output=True, timeout=_COMMAND_TIMEOUT, check=False
        )
        if result.returncode != 0:
            error = result.stderr.decode(errors="replace")
            raise RegistryError(f"{' '.join(command)}: exit {result.returncode}: {error}")
        return result.stdout

    def copy(self, source: str, destination: str) -> None:
        """``skopeo copy --all SOURCE DESTINATION`` without TLS on either side."""
        tls = ("--src-tls-verify=false", "--dest-tls-verify=false")
        self.run("copy", "--all", *tls, source, destination)

    def raw_manifest(self, reference: str) -> bytes:
        """``skopeo inspect --raw docker://REFERENCE``: the manifest bytes as served."""
        return self.run("inspect", "--raw", "--tls-verify=false", f"docker://{reference}")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def registries(*names: str) -> Iterator[dict[str, Registry]]:
    """Start one registry per name in a fresh temporary directory; stop them all after."""
    with tempfile.TemporaryDirectory(prefix="nimgen-registry-") as tmp:
        started: dict[str, Registry] = {}
        try:
            for name in names:
                started[name] = Registry(name, Path(tmp) / name).start()
            yield started
        finally:
            for registry in started.values():
                registry.stop()
