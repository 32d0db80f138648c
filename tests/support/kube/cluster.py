"""A real Kubernetes API server on loopback, for the cluster tests.

``KubeCluster`` starts etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 with
random free ports, a throwaway CA and serving certificate (``openssl``), a service-account
key pair and a static token file with two users:

* ``admin``: in ``system:masters``, can do anything;
* ``user``: only ``system:authenticated``, for RBAC tests (grant it what a test needs).

It writes a kubeconfig with one context per user, waits for ``/readyz`` and stops every
process by PID in ``__exit__`` (and at interpreter exit, and through the parent-death signal
if the test process is killed outright), so no server outlives a test run.

The binaries come from the cache that ``tests/support/kube/build.sh`` fills, etcd from
``PATH``. The server is Kubernetes 1.20.2, so: no CEL rules (``apply_crds`` strips
``x-kubernetes-validations``), no ``batch/v1`` CronJob, no server-side field validation
(kubectl 1.32 falls back to validating against the server's OpenAPI v2 itself), no
``selfsubjectreviews`` (``kubectl auth whoami`` fails). Server-side and client-side
``kubectl apply`` both work with the machine's kubectl 1.32; only ``kubectl version``
warns about the version skew.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import yaml

from tests.support.net import free_port
from tests.support.waiting import wait_until

BINARIES = ("kube-apiserver", "kube-controller-manager")
ADMIN = "admin"
USER = "user"
DEFAULT_READY_TIMEOUT = 120.0
_STOP_GRACE = 10.0
_PR_SET_PDEATHSIG = 1
_WORKDIR_PREFIX = "nimgen-kube-"
# Fields a 1.20 apiextensions server does not know (CEL rules came in 1.23, field selectors
# in 1.30): stripped from CRDs before they are applied.
UNSUPPORTED_SCHEMA_KEYS = frozenset({"x-kubernetes-validations"})
UNSUPPORTED_VERSION_KEYS = frozenset({"selectableFields"})
# openssl's commands for the CA, the API server's certificate and the service-account keys.
_EC = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
_PKI_COMMANDS = (
    f"req -x509 {_EC} -keyout pki/ca.key -out pki/ca.crt -days 2 -subj /CN=nimgen-test-ca"
    # Python 3.13's strict X.509 checks want a CA's key usage stated.
    " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
    f"req {_EC} -keyout pki/apiserver.key -out pki/apiserver.csr -subj /CN=kube-apiserver",
    "x509 -req -in pki/apiserver.csr -CA pki/ca.crt -CAkey pki/ca.key -CAcreateserial -days 2"
    " -extfile pki/san.ext -out pki/apiserver.crt",
    "genrsa -out pki/sa.key 2048",
    "rsa -in pki/sa.key -pubout -out pki/sa.pub",
)


class KubeClusterError(RuntimeError):
    """The cluster could not be started, or a helper's command failed."""


def bin_dir() -> Path:
    """Where build.sh puts its binaries: the same rule as the script."""
    explicit = os.environ.get("NIMGEN_KUBE_CACHE")
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(explicit) if explicit else Path(xdg) / "nimgen-kube") / "bin"


def missing_reason() -> str | None:
    """Why a cluster cannot start here (``None`` when it can)."""
    bins = bin_dir()
    for name in (*BINARIES, ".stamp"):
        if not os.access(bins / name, os.F_OK if name == ".stamp" else os.X_OK):
            return f"kube-apiserver not built: run tests/support/kube/build.sh (no {bins / name})"
    for tool in ("etcd", "openssl", "kubectl"):
        if shutil.which(tool) is None:
            hint = " (apt-get install etcd-server)" if tool == "etcd" else ""
            return f"{tool} not found on PATH{hint}"
    return None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the child when the process (thread) that started it dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale_workdirs() -> None:
    """Remove the work dirs (etcd data: about 60 MB each) of test runs that were killed.

    Their servers died with them (parent-death signal); a dir whose ``owner.pid`` names a
    live process is left alone.
    """
    for workdir in Path(tempfile.gettempdir()).glob(f"{_WORKDIR_PREFIX}*"):
        try:
            pid = int((workdir / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not _alive(pid):
            shutil.rmtree(workdir, ignore_errors=True)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _strip_unsupported(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _strip_unsupported(value)
            for key, value in node.items()
            if key not in UNSUPPORTED_SCHEMA_KEYS
        }
    if isinstance(node, list):
        return [_strip_unsupported(item) for item in node]
    return node


def crd_for_1_20(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A CRD document without the fields a 1.20 server rejects or does not know."""
    crd: dict[str, Any] = _strip_unsupported(dict(doc))
    for version in crd.get("spec", {}).get("versions", []):
        for key in UNSUPPORTED_VERSION_KEYS:
            version.pop(key, None)
    return crd


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    log_file: IO[bytes]


class KubeCluster:
    """etcd + kube-apiserver + kube-controller-manager on loopback; a context manager."""

    def __init__(self, *, crds: Sequence[Path] = ()) -> None:
        # Applied before the controller manager starts, so its garbage collector watches
        # their kinds at once (it notices a later CRD only at its 30 s discovery resync).
        self.crds = tuple(crds)
        # About 4 s on an idle 2-core machine, 7 to 14 s at a load average of 15.
        timeout = os.environ.get("NIMGEN_KUBE_READY_TIMEOUT")
        self.ready_timeout = float(timeout) if timeout else DEFAULT_READY_TIMEOUT
        self.workdir: Path | None = None
        self.server = ""
        self._procs: list[_Proc] = []
        self._tokens = {
            ADMIN: secrets.token_hex(16),
            USER: secrets.token_hex(16),
            "controller-manager": secrets.token_hex(16),
        }
        self._kubeconfig: Path | None = None

    def __enter__(self) -> KubeCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start everything and wait until the API server is ready (at most ready_timeout)."""
        if self._procs:
            raise KubeClusterError("cluster already started")
        reason = missing_reason()
        if reason:
            raise KubeClusterError(reason)
        reap_stale_workdirs()
        self.workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX))
        (self.workdir / "owner.pid").write_text(f"{os.getpid()}\n")
        atexit.register(self.stop)
        try:
            self._write_pki()
            # Ports are picked free and then bound by another process: a rare race with a
            # parallel worker. Retry the whole start with new ports when a bind failed.
            for attempt in range(3):
                try:
                    self._start_servers()
                    break
                except KubeClusterError as err:
                    if "address already in use" not in str(err) or attempt == 2:
                        raise
                    self._stop_processes()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process (TERM, then KILL after a bound) and remove the work dir."""
        self._stop_processes()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        atexit.unregister(self.stop)

    def _stop_processes(self) -> None:
        procs = self._procs[::-1]
        self._procs = []
        for proc in procs:
            if proc.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.terminate()
        deadline = time.monotonic() + _STOP_GRACE
        for proc in procs:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.kill()
                proc.popen.wait(timeout=_STOP_GRACE)
            proc.log_file.close()

    @property
    def _dir(self) -> Path:
        if self.workdir is None:
            raise KubeClusterError("cluster not started")
        return self.workdir

    def _write_pki(self) -> None:
        pki = self._dir / "pki"
        pki.mkdir()
        (pki / "san.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
        )
        for command in _PKI_COMMANDS:
            argv = ["openssl", *command.split()]
            done = subprocess.run(argv, cwd=self._dir, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise KubeClusterError(f"openssl {command}: {done.stderr.strip()}")
        # token,user,uid,"groups": the controller manager runs as a master (it needs to list
        # and delete everything for garbage collection and namespace deletion).
        (pki / "tokens.csv").write_text(
            f'{self._tokens[ADMIN]},admin,uid-admin,"system:masters"\n'
            f"{self._tokens[USER]},user,uid-user\n"
            f"{self._tokens['controller-manager']},system:kube-controller-manager,"
            'uid-kcm,"system:masters"\n'
        )
        for path in pki.iterdir():
            path.chmod(0o600)

    def _spawn(self, name: str, argv: Sequence[str]) -> _Proc:
        log = self._dir / f"{name}.log"
        log_file = log.open("ab")
        popen = subprocess.Popen(
            list(argv),
            cwd=self._dir,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's ^C reaches us, and we stop them in order
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        proc = _Proc(name, popen, log, log_file)
        self._procs.append(proc)
        return proc

    def _start_servers(self) -> None:
        d = self._dir
        client = free_port()
        peer = free_port()
        secure = free_port()
        etcd_dir = d / "etcd"
        shutil.rmtree(etcd_dir, ignore_errors=True)
        etcd = self._spawn(
            "etcd",
            [
                shutil.which("etcd") or "/usr/bin/etcd",
                "--name=nimgen",
                f"--data-dir={etcd_dir}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=nimgen=http://127.0.0.1:{peer}",
                "--initial-cluster-state=new",
                "--logger=zap",
                "--log-level=warn",
                "--snapshot-count=5000",
            ],
        )
        pki = d / "pki"
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(bin_dir() / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{client}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={secure}",
                "--insecure-port=0",
                f"--cert-dir={d / 'certs'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--token-auth-file={pki / 'tokens.csv'}",
                "--authorization-mode=Node,RBAC",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                "--v=1",
            ],
        )
        self.server = f"https://127.0.0.1:{secure}"
        self._kubeconfig = self._write_kubeconfig((ADMIN, USER), "kubeconfig")
        self._wait_ready(
            f"{self.server}/readyz", watch=(etcd, apiserver), token=self._tokens[ADMIN]
        )
        self.apply_crds(self.crds)
        kcm_port = free_port()
        kcm_config = self._write_kubeconfig(("controller-manager",), "kubeconfig-kcm")
        kcm = self._spawn(
            "kube-controller-manager",
            [
                str(bin_dir() / "kube-controller-manager"),
                f"--kubeconfig={kcm_config}",
                "--bind-address=127.0.0.1",
                f"--secure-port={kcm_port}",
                "--port=0",
                f"--cert-dir={d / 'kcm-certs'}",
                "--leader-elect=false",
                "--controllers=garbagecollector,namespace,serviceaccount,"
                "serviceaccount-token,clusterrole-aggregation",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                "--use-service-account-credentials=false",
                "--concurrent-gc-syncs=5",
                "--v=1",
            ],
        )
        self._wait_ready(f"https://127.0.0.1:{kcm_port}/healthz", watch=(kcm,), verify=False)

    def _write_kubeconfig(self, users: Iterable[str], file_name: str) -> Path:
        """A kubeconfig with a context per user, the first one current."""
        users = tuple(users)
        ca = str(self._dir / "pki" / "ca.crt")
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "nimgen", "cluster": {"server": self.server, "certificate-authority": ca}}
            ],
            "users": [{"name": u, "user": {"token": self._tokens[u]}} for u in users],
            "contexts": [
                {"name": u, "context": {"cluster": "nimgen", "user": u, "namespace": "default"}}
                for u in users
            ],
            "current-context": users[0],
        }
        path = self._dir / file_name
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        return path

    def _wait_ready(
        self,
        url: str,
        *,
        watch: Sequence[_Proc],
        token: str | None = None,
        verify: bool = True,
    ) -> None:
        if verify:
            context = ssl.create_default_context(cafile=str(self._dir / "pki" / "ca.crt"))
        else:
            context = ssl.create_default_context()  # the controller manager self-signs
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        # Loopback only: never through an HTTP(S)_PROXY of the environment.
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        request = urllib.request.Request(url)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer yet"
        while True:
            for proc in watch:
                if proc.popen.poll() is not None:
                    raise KubeClusterError(
                        f"{proc.name} exited with {proc.popen.returncode} before {url} was "
                        f"ready; last lines of {proc.log}:\n{_tail(proc.log)}"
                    )
            try:
                with opener.open(request, timeout=5) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code}: {err.read(2000).decode(errors='replace')}"
            except (OSError, ssl.SSLError) as err:
                last = str(err)
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {p.name} ({p.log}):\n{_tail(p.log)}" for p in watch)
                raise KubeClusterError(
                    f"{url} not ready after {self.ready_timeout:.0f} s (last: {last})\n{logs}"
                )
            time.sleep(0.2)

    @property
    def kubeconfig(self) -> Path:
        """The kubeconfig: contexts ``admin`` (current) and ``user``."""
        if self._kubeconfig is None:
            raise KubeClusterError("cluster not started")
        return self._kubeconfig

    def env(self) -> dict[str, str]:
        """An environment for kubectl and friends: KUBECONFIG set, caches in the work dir."""
        return os.environ | {
            "KUBECONFIG": str(self.kubeconfig),
            "KUBECACHEDIR": str(self._dir / "kube-cache"),
        }

    def kubectl(
        self,
        *args: str,
        user: str = ADMIN,
        input: str | None = None,
        check: bool = False,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl as ``user`` (``admin`` or ``user``) against this cluster; with
        ``check=True`` a non-zero exit raises ``KubeClusterError`` with its stderr."""
        argv = [
            "kubectl",
            f"--kubeconfig={self.kubeconfig}",
            f"--context={user}",
            f"--cache-dir={self._dir / 'kube-cache'}",
            *args,
        ]
        result = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise KubeClusterError(
                f"kubectl {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stderr.strip()}\n{result.stdout.strip()[-2000:]}"
            )
        return result

    def get_json(self, *args: str) -> dict[str, Any]:
        """``kubectl get ARGS -o json`` as the admin, which must succeed, parsed."""
        document: dict[str, Any] = json.loads(
            self.kubectl("get", *args, "-o", "json", check=True).stdout
        )
        return document

    def wait_for_service_account(self, namespace: str, *, timeout: float = 60.0) -> None:
        """A Pod needs its namespace's default ServiceAccount, which the controller manager
        makes a moment after the namespace."""
        wait_until(
            lambda: (
                self.kubectl("get", "serviceaccount", "default", "-n", namespace).returncode == 0
            ),
            timeout=timeout,
            step=0.5,
            what=f"the default ServiceAccount in {namespace}",
        )

    def apply_crds(self, paths: Iterable[Path], *, timeout: float = 60.0) -> None:
        """Apply CRD files (server-side, stripped for 1.20) and wait until established."""
        docs = [
            crd_for_1_20(d) for path in paths for d in yaml.safe_load_all(path.read_text()) if d
        ]
        if not docs:
            return
        manifest = {"apiVersion": "v1", "kind": "List", "items": docs}
        self.kubectl(
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=nimgen-tests",
            "-f",
            "-",
            input=json.dumps(manifest),
            check=True,
            timeout=timeout,
        )
        self.wait_established([str(doc["metadata"]["name"]) for doc in docs], timeout=timeout)

    def wait_established(self, names: Sequence[str], *, timeout: float = 60.0) -> None:
        """Poll until every named CRD is Established (bounded by ``timeout``).

        Not ``kubectl wait``: kubectl 1.32 fails at once on a CRD that has no
        ``status.conditions`` yet (a fresh CRD on a loaded machine) instead of waiting.
        """
        deadline = time.monotonic() + timeout
        pending = list(names)
        while True:
            result = self.kubectl("get", "crd", *pending, "-o", "json", timeout=timeout + 30)
            if result.returncode == 0:
                doc = json.loads(result.stdout)
                items = doc["items"] if doc.get("kind") == "List" else [doc]
                established = {
                    item["metadata"]["name"]
                    for item in items
                    if any(
                        cond.get("type") == "Established" and cond.get("status") == "True"
                        for cond in (item.get("status") or {}).get("conditions") or []
                    )
                }
                pending = [name for name in pending if name not in established]
                if not pending:
                    return
            if time.monotonic() > deadline:
                detail = result.stderr.strip() if result.returncode else "not Established"
                raise KubeClusterError(
                    f"CRDs not established after {timeout:.0f} s: {', '.join(pending)} ({detail})"
                )
            time.sleep(0.5)
