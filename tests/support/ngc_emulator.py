"""A loopback emulator of the NGC services nimgen talks to (nim-contract.md, section 1).

It is a real HTTP/1.1 server (``http.server.ThreadingHTTPServer``, keep-alive, one daemon
thread per connection) that answers the three upstream endpoints from seeded models:

* ``GET /v2/search/catalog/resources/CONTAINER?q=<json>``            (kind ``"catalog"``)
* ``POST /v3/keys/get-caller-info``                                   (kind ``"key"``)
* ``GET /v2/org/{org}[/team/{team}]/repos/{repo}?resolve-labels=true``  (kind ``"model"``)

Everything else answers 404 JSON (kind ``"other"``). Tests steer it with knobs (latency, EU
callers, page-size cap, catalog oddities, random flakiness), scripted :class:`Fault` s per
model (optionally for EU callers only) / catalog page / key call, and read its counters
(request log, calls per model and page, peak concurrency, auth failures).

Stdlib only; it never talks to anything but its loopback clients.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import gzip
import hashlib
import io
import json
import math
import random
import re
import select
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

VALID_KEY: Final = "nvapi-test-key-0123456789"
DEFAULT_PAGE_SIZE_CAP: Final = 25
CATALOG_PATH: Final = "/v2/search/catalog/resources/CONTAINER"
KEY_PATH: Final = "/v3/keys/get-caller-info"

_TEAM_REPO_RE: Final = re.compile(r"^/v2/org/([^/]+)/team/([^/]+)/repos/([^/]+)$")
_ORG_REPO_RE: Final = re.compile(r"^/v2/org/([^/]+)/repos/([^/]+)$")
_ORG_QUERY_RE: Final = re.compile(r"orgName:\"?([A-Za-z0-9_.\-]+)")
_WAIT_STEP: Final = 0.05
_MAX_BODY: Final = 1 << 20
_HUGE_PREFIX: Final = b'{"resultTotal": 1, "resultPageTotal": 1, "padding": "'
_HUGE_FILL: Final = b"x" * 65536
_GARBAGE: Final = b'{"resultTotal": 186, "resultPageTotal": 8, "results": [{"groupValue": "CONTA'
_HTML: Final = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream server is temporarily unavailable."
    b"</p></body></html>\n"
)


# --------------------------------------------------------------------------- fixtures


def default_fixtures_dir() -> Path:
    """``tests/fixtures/`` of this repository: real NGC answers and CRDs, copied in."""
    return Path(__file__).resolve().parents[1] / "fixtures"


def _ngc_fixture_dir(fixtures_dir: Path | None) -> Path:
    return (fixtures_dir if fixtures_dir is not None else default_fixtures_dir()) / "ngc"


@functools.lru_cache(maxsize=32)
def _read_json(path: Path) -> Any:
    """Parsed JSON of a fixture file; cached, so callers must never mutate the result."""
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


@dataclass(frozen=True)
class EmulatedModel:
    """One NIM container as the emulator serves it."""

    name: str
    display_name: str = ""
    short_description: str = ""
    org: str = "nim"
    team: str | None = "nvidia"  # None: a team-less resource, "org/name"
    tags: tuple[str, ...] = ("1.0.0", "1.0", "1", "latest")
    latest_tag: str | None = "1.0.0"  # None: the catalog resource has no latestTag attribute
    updated_date: str = "2025-01-01T00:00:00.000Z"
    date_modified: str = "2025-01-01T00:00:00.000Z"
    latest_tag_pushed_date: str = "2025-01-01T00:00:00.000Z"
    eu_restricted: bool = False

    @property
    def namespace(self) -> str:
        return self.org if self.team is None else f"{self.org}/{self.team}"

    @property
    def resource_id(self) -> str:
        return f"{self.namespace}/{self.name}"


def fake_digest(name: str, tag: str, architecture: str = "amd64") -> str:
    """The deterministic ``sha256:...`` digest the emulator reports for an image and platform."""
    return "sha256:" + hashlib.sha256(f"{name}:{tag}:{architecture}".encode()).hexdigest()


def load_fixture_models(fixtures_dir: Path | None = None) -> list[EmulatedModel]:
    """The 186 models of ``fixtures/ngc/models-2025.json`` (EU flags from eu-restricted-2025)."""
    base = _ngc_fixture_dir(fixtures_dir)
    raw: list[dict[str, Any]] = _read_json(base / "models-2025.json")
    restricted: list[dict[str, Any]] = _read_json(base / "eu-restricted-2025.json")
    eu_ids = {str(e["resourceId"]) for e in restricted}
    out: list[EmulatedModel] = []
    for item in raw:
        org, _, team = str(item["namespace"]).partition("/")
        updated = str(item["updatedDate"])
        model = EmulatedModel(
            name=str(item["name"]),
            display_name=str(item["displayName"]),
            short_description=str(item["shortDescription"]),
            org=org,
            team=team or None,
            tags=tuple(str(t) for t in item["tags"]),
            latest_tag=item.get("latestTag"),
            updated_date=updated,
            date_modified=updated,
            latest_tag_pushed_date=updated,
        )
        out.append(dataclasses.replace(model, eu_restricted=model.resource_id in eu_ids))
    return out


def make_models(
    n: int,
    base: Sequence[EmulatedModel] | None = None,
    *,
    prefix: str = "synthetic-model",
    fixtures_dir: Path | None = None,
) -> list[EmulatedModel]:
    """``n`` distinct models ``{prefix}-0000`` ... cycling ``base`` (default: the fixture
    models), every other field (team, tags, dates, eu_restricted) copied from it."""
    pool = list(base) if base is not None else load_fixture_models(fixtures_dir)
    width = max(4, len(str(max(n - 1, 0))))
    out: list[EmulatedModel] = []
    for i in range(n):
        src = pool[i % len(pool)]
        number = f"{i:0{width}d}"
        out.append(
            dataclasses.replace(
                src, name=f"{prefix}-{number}", display_name=f"{src.display_name} #{number}"
            )
        )
    return out


@dataclass(frozen=True)
class _Templates:
    caller_info: dict[str, Any]
    repo: dict[str, Any]
    params: dict[str, Any]
    resource: dict[str, Any]
    attributes: dict[str, str]

    @classmethod
    def load(cls, fixtures_dir: Path | None) -> _Templates:
        base = _ngc_fixture_dir(fixtures_dir)
        page: dict[str, Any] = _read_json(base / "catalog-search-page.json")
        container = next(g for g in page["results"] if g["groupValue"] == "CONTAINER")
        resource: dict[str, Any] = container["resources"][0]
        return cls(
            caller_info=_read_json(base / "get-caller-info.json"),
            repo=_read_json(base / "repo-llama-3.1-8b-instruct.json"),
            params=page["params"],
            resource=resource,
            attributes={str(a["key"]): str(a["value"]) for a in resource["attributes"]},
        )


# --------------------------------------------------------------------------- faults


class _Remove(enum.Enum):
    REMOVE = "REMOVE"


REMOVE: Final = _Remove.REMOVE
"""Value for :meth:`Fault.wrong_fields`: delete the field instead of replacing it."""

FaultKind = Literal[
    "status",
    "garbage",
    "html",
    "hang",
    "reset",
    "huge",
    "wrong_fields",
    "wrong_resource_fields",
    "bomb",
    "echo",
    "encoded",
]

EchoStyle = Literal["verbatim", "upper", "piece", "escaped"]
_ECHO_PLACEHOLDER: Final = "\x00nimgen-emulator-echo\x00"


_BOMB_LOCK = threading.Lock()


def gzip_bomb(decoded_bytes: int, layers: int = 1) -> bytes:
    """``_gzip_bomb`` gzipped ``layers`` times; built once (under a lock: many handler
    threads asking at once must not each build it)."""
    with _BOMB_LOCK:
        return _layered_bomb(decoded_bytes, layers)


@functools.lru_cache(maxsize=8)
def _layered_bomb(decoded_bytes: int, layers: int) -> bytes:
    body = _gzip_bomb(decoded_bytes)
    for _ in range(layers - 1):
        body = gzip.compress(body)
    return body


def _gzip_bomb(decoded_bytes: int) -> bytes:
    """A gzip stream of ``decoded_bytes`` zero bytes (a multiple of 1 MiB), about 1000 times
    smaller than that. Built from one compressed MiB repeated (each ends with a full flush,
    which makes them identical), so a 1 GiB bomb takes a fraction of a second to make."""
    block = 1 << 20
    if decoded_bytes <= 0 or decoded_bytes % block:
        raise ValueError("decoded_bytes must be a positive multiple of 1 MiB")
    count = decoded_bytes // block
    zeros = bytes(block)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, decoded_bytes & 0xFFFFFFFF)
    return header + piece * count + deflate.flush(zlib.Z_FINISH) + trailer


def http_date(delta_seconds: float = 0.0) -> str:
    """An HTTP date ``delta_seconds`` from now (for ``Retry-After``)."""
    return formatdate(time.time() + delta_seconds, usegmt=True)


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour; build with the class-method constructors."""

    kind: FaultKind
    status_code: int = 200
    retry_after: str | None = None
    body: bytes = b""
    content_type: str | None = None
    seconds: float = 0.0
    n_bytes: int = 0
    declare_length: bool = True
    overrides: tuple[tuple[str, Any], ...] = ()
    encodings: tuple[str, ...] = ()
    echo_field: str = ""
    echo_style: EchoStyle = "verbatim"

    @classmethod
    def status(
        cls,
        code: int,
        retry_after: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Fault:
        """Answer ``code`` (e.g. 500, 502, 503, 429) with an optional Retry-After and body."""
        ctype = content_type or ("application/json" if body else None)
        return cls(
            "status", status_code=code, retry_after=retry_after, body=body, content_type=ctype
        )

    @classmethod
    def garbage(cls) -> Fault:
        """200, ``application/json``, truncated/invalid JSON."""
        return cls("garbage", body=_GARBAGE, content_type="application/json")

    @classmethod
    def html(cls, status: int = 200) -> Fault:
        """``status`` (default 200) with a ``text/html`` error page (a captive portal/proxy)."""
        return cls("html", status_code=status, body=_HTML, content_type="text/html; charset=utf-8")

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Fault:
        """Say nothing for ``seconds`` (ends early on stop() or client disconnect), then answer."""
        return cls("hang", seconds=seconds)

    @classmethod
    def reset(cls) -> Fault:
        """Close the connection abruptly (RST, SO_LINGER 0) without answering."""
        return cls("reset")

    @classmethod
    def huge(cls, n_bytes: int = 50 * 1024 * 1024, *, declare_length: bool = True) -> Fault:
        """200 with an ``n_bytes`` body that starts like JSON, streamed in 64 KiB chunks;
        ``declare_length=False`` omits Content-Length and ends the body by closing."""
        return cls("huge", n_bytes=n_bytes, declare_length=declare_length)

    @classmethod
    def wrong_fields(cls, **overrides: Any) -> Fault:
        """The normal 200 answer with top-level fields replaced (value ``REMOVE`` deletes)."""
        return cls("wrong_fields", overrides=tuple(overrides.items()))

    @classmethod
    def bomb(cls, decoded_bytes: int = 1 << 30, *, layers: int = 1) -> Fault:
        """200 JSON whose body is gzip (``layers`` times: ``Content-Encoding: gzip, gzip``)
        of ``decoded_bytes`` zeros: a decompression bomb, about 1 MB for 1 GiB."""
        gzip_bomb(decoded_bytes, layers)  # built now, not while serving
        return cls("bomb", n_bytes=decoded_bytes, encodings=("gzip",) * layers)

    @classmethod
    def encoded(cls, content_encoding: str) -> Fault:
        """The normal answer, uncompressed, under this ``Content-Encoding`` header."""
        return cls("encoded", encodings=(content_encoding,))

    @classmethod
    def echo(cls, field: str, *, style: EchoStyle = "verbatim") -> Fault:
        """The normal answer with top-level ``field`` set to the request's Authorization
        header (what a server that copies request headers into its answers does):
        ``verbatim``; ``upper`` (upper-cased); ``piece`` (12 characters from the middle of
        the credential); or ``escaped`` (every character a JSON ``\\uXXXX`` escape)."""
        return cls("echo", echo_field=field, echo_style=style)

    @classmethod
    def deeply_nested(cls, depth: int = 100_000) -> Fault:
        """200 JSON nested ``depth`` arrays deep (``[[[...]]]``): more than a parser's stack."""
        return cls.status(200, body=b"[" * depth + b"]" * depth, content_type="application/json")

    @classmethod
    def wrong_resource_fields(cls, **overrides: Any) -> Fault:
        """Catalog only: the normal page with these fields replaced/removed in every resource."""
        return cls("wrong_resource_fields", overrides=tuple(overrides.items()))


def _apply_overrides(
    data: Mapping[str, Any], overrides: Iterable[tuple[str, Any]]
) -> dict[str, Any]:
    out = dict(data)
    for key, value in overrides:
        if value is REMOVE:
            out.pop(key, None)
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------- records


class RequestRecord(NamedTuple):
    """One handled request; times are ``time.monotonic()``; status 0 = no answer sent."""

    kind: str
    path: str
    status: int
    client_address: str
    start_time: float
    end_time: float


class _Route(NamedTuple):
    kind: str  # "catalog" | "key" | "model" | "other"
    org: str = ""
    team: str | None = None
    repo: str = ""


class _CatalogQuery(NamedTuple):
    query: str
    orgs: tuple[str, ...]
    page: int
    page_size: int


@dataclass
class _Answer:
    status: int
    payload: Any = None
    raw: bytes | None = None
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _status_payload(code: str, description: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"statusCode": code}
    if description:
        status["statusDescription"] = description
    return {"requestStatus": status}


def _route(method: str, path: str) -> _Route:
    if path == CATALOG_PATH and method == "GET":
        return _Route("catalog")
    if path == KEY_PATH and method == "POST":
        return _Route("key")
    if method == "GET":
        match = _TEAM_REPO_RE.match(path)
        if match:
            return _Route("model", unquote(match[1]), unquote(match[2]), unquote(match[3]))
        match = _ORG_REPO_RE.match(path)
        if match:
            return _Route("model", unquote(match[1]), None, unquote(match[2]))
    return _Route("other")


def _parse_catalog_query(query: str) -> _CatalogQuery | str:
    """The catalog request, or an error message for a 400."""
    values = parse_qs(query, keep_blank_values=True).get("q")
    if not values:
        return "missing q"
    try:
        asked = json.loads(values[0])
    except ValueError:
        return "q is not valid JSON"
    if not isinstance(asked, dict):
        return "q is not a JSON object"
    text = asked.get("query", "*:*")
    page = asked.get("page", 0)
    size = asked.get("pageSize", DEFAULT_PAGE_SIZE_CAP)
    if not isinstance(text, str):
        return "query must be a string"
    if not isinstance(page, int) or isinstance(page, bool) or page < 0:
        return "page must be an integer >= 0"
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        return "pageSize must be an integer >= 1"
    return _CatalogQuery(text, tuple(_ORG_QUERY_RE.findall(text)), page, size)


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


# --------------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emu: NgcEmulator) -> None:
        self.emu = emu
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() would call socket.getfqdn() (a DNS look-up): skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        self.emu._record_error(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "NgcEmulator/1.0"
    sys_version = ""
    server: _Server
    _status: int = 0
    _start: float = 0.0
    _kind: str = "other"
    _recorded: bool = True

    # ---- plumbing

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.emu._track(self.connection)
        self._status = 0
        self._start = 0.0

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.emu._untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        emu = self.server.emu
        self._start = time.monotonic()
        self._status = 0
        split = urlsplit(self.path)
        route = _route(self.command, split.path)
        self._kind = route.kind
        self._recorded = False
        emu._begin(route.kind)
        try:
            body = self._read_body()
            if body is None:
                self.close_connection = True
                self._send_answer(_Answer(400, _status_payload("BAD_REQUEST", "bad body")))
            elif route.kind == "catalog":
                self._serve_catalog(split.query)
            elif route.kind == "key":
                self._serve_key(body)
            elif route.kind == "model":
                self._serve_model(route)
            else:
                self._answer("other", None, lambda _f: self._not_found(split.path))
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            emu._record_error(traceback.format_exc())
            self.close_connection = True
            if self._status == 0:
                with contextlib.suppress(OSError):
                    self._send_answer(_Answer(500, _status_payload("INTERNAL_ERROR")))
        finally:
            self._record()

    def _record(self) -> None:
        """Book the request as finished: called just before its last bytes go out, so a client
        that has its answer already sees it counted (and no longer in flight)."""
        if self._recorded:
            return
        self._recorded = True
        client = str(self.client_address[0])
        self.server.emu._end(
            self._kind, self.path, self._status, client, self._start, time.monotonic()
        )

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            return None
        if size < 0 or size > _MAX_BODY:
            return None
        data = self.rfile.read(size)
        return data if len(data) == size else None

    def _head(
        self,
        status: int,
        content_type: str | None,
        length: int | None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [
            f"HTTP/1.1 {status} {reason}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
        ]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        for key, value in (headers or {}).items():
            lines.append(f"{key}: {value}")
        if length is not None:
            lines.append(f"Content-Length: {length}")
        if self.close_connection:
            lines.append("Connection: close")
        self._status = status
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        data = self._head(status, content_type, len(body), headers)
        self._record()
        try:
            self.wfile.write(data + body)
        except OSError:
            self.close_connection = True

    def _send_answer(self, ans: _Answer) -> None:
        if ans.raw is not None:
            body = ans.raw
        elif ans.payload is not None:
            body = json.dumps(ans.payload, separators=(",", ":")).encode("utf-8")
        else:
            body = b""
        self._send(ans.status, body, ans.content_type if body else None, ans.headers)

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; False if the emulator stops or the client disconnects meanwhile."""
        if seconds <= 0:
            return True
        stop = self.server.emu._stop_event
        deadline = time.monotonic() + seconds
        watch = True
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            if stop.is_set():
                return False
            step = min(remaining, _WAIT_STEP)
            if not watch:
                if stop.wait(step):
                    return False
                continue
            try:
                readable, _, _ = select.select([self.connection], [], [], step)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    return False  # EOF: the client closed
            except (OSError, ValueError):
                return False
            if readable:
                watch = False  # pipelined data, not a disconnect: stop watching

    def _reset(self) -> None:
        self.close_connection = True
        self._record()
        sock = self.connection
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The makefile() objects hold references: close them so close() really closes (-> RST).
        for f in (self.rfile, self.wfile):
            with contextlib.suppress(OSError, ValueError):
                f.close()
        self.rfile = io.BytesIO()
        self.wfile = io.BytesIO()
        with contextlib.suppress(OSError):
            sock.close()

    def _send_huge(self, fault: Fault) -> None:
        size = fault.n_bytes
        stop = self.server.emu._stop_event
        if not fault.declare_length:
            self.close_connection = True
        head = self._head(200, "application/json", size if fault.declare_length else None)
        prefix = _HUGE_PREFIX[:size]
        remaining = size - len(prefix)
        try:
            if remaining == 0:
                self._record()
            self.wfile.write(head + prefix)
            while remaining > 0:
                if stop.is_set():
                    self.close_connection = True
                    return
                chunk = _HUGE_FILL if remaining >= len(_HUGE_FILL) else _HUGE_FILL[:remaining]
                remaining -= len(chunk)
                if remaining == 0:
                    self._record()
                self.wfile.write(chunk)
        except OSError:
            self.close_connection = True

    # ---- generic answer pipeline: latency, fault, normal answer

    def _answer(
        self, kind: str, fault: Fault | None, compute: Callable[[Fault | None], _Answer]
    ) -> None:
        emu = self.server.emu
        if not self._wait(emu._latency_for(kind)):
            self.close_connection = True  # stopped, or the client went away
            return
        if fault is not None:
            if fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                self._send(fault.status_code, fault.body, fault.content_type, headers)
                return
            if fault.kind in ("garbage", "html"):
                self._send(fault.status_code, fault.body, fault.content_type)
                return
            if fault.kind == "reset":
                self._reset()
                return
            if fault.kind == "huge":
                self._send_huge(fault)
                return
            if fault.kind == "bomb":
                body = gzip_bomb(fault.n_bytes, len(fault.encodings))
                encoding = {"Content-Encoding": ", ".join(fault.encodings)}
                self._send(200, body, "application/json", encoding)
                return
            if fault.kind == "hang" and not self._wait(fault.seconds):
                self.close_connection = True
                return
        ans = compute(fault)
        if (
            fault is not None
            and fault.kind == "wrong_fields"
            and ans.status == 200
            and isinstance(ans.payload, dict)
        ):
            ans.payload = _apply_overrides(ans.payload, fault.overrides)
        if (
            fault is not None
            and fault.kind == "echo"
            and ans.status == 200
            and isinstance(ans.payload, dict)
        ):
            ans.raw = self._echoed(ans.payload, fault)
        if fault is not None and fault.kind == "encoded":
            ans.headers["Content-Encoding"] = fault.encodings[0]
        self._send_answer(ans)

    def _echoed(self, payload: Mapping[str, Any], fault: Fault) -> bytes:
        """``payload`` as JSON with ``fault.echo_field`` holding the echoed request header."""
        value = self.headers.get("Authorization") or ""
        credential = value.split(" ", 1)[-1]
        if fault.echo_style == "upper":
            text = json.dumps(value.upper())
        elif fault.echo_style == "piece":
            middle = len(credential) // 2
            text = json.dumps(credential[max(0, middle - 6) : middle + 6])
        elif fault.echo_style == "escaped":
            text = '"' + "".join(f"\\u{ord(c):04x}" for c in value) + '"'
        else:
            text = json.dumps(value)
        document = json.dumps({**payload, fault.echo_field: _ECHO_PLACEHOLDER})
        return document.replace(json.dumps(_ECHO_PLACEHOLDER), text).encode("utf-8")

    def _not_found(self, path: str) -> _Answer:
        return _Answer(404, _status_payload("NOT_FOUND", f"no such resource: {path}"))

    def _unauthorized(self) -> _Answer:
        self.server.emu._auth_failure()
        return _Answer(401, _status_payload("UNAUTHORIZED"))

    # ---- the three endpoints

    def _serve_catalog(self, query: str) -> None:
        emu = self.server.emu
        parsed = _parse_catalog_query(query)
        if isinstance(parsed, str):
            message = parsed
            self._answer(
                "catalog", None, lambda _f: _Answer(400, _status_payload("BAD_REQUEST", message))
            )
            return
        emu._note_page(parsed.page)
        fault = emu._take_fault(("page", parsed.page))
        self._answer("catalog", fault, lambda f: emu._catalog_answer(parsed, f))

    def _serve_key(self, body: bytes) -> None:
        emu = self.server.emu
        fault = emu._take_fault(("key", None))
        self._answer("key", fault, lambda _f: self._key_answer(body))

    def _key_answer(self, body: bytes) -> _Answer:
        emu = self.server.emu
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        form: dict[str, list[str]] = {}
        if ctype == "application/x-www-form-urlencoded":
            form = parse_qs(body.decode("utf-8", "replace"))
        credentials = form.get("credentials", [""])[0]
        bearer = _bearer(self.headers.get("Authorization"))
        if credentials and bearer == credentials == VALID_KEY:
            return _Answer(200, emu._templates.caller_info)
        return self._unauthorized()

    def _serve_model(self, route: _Route) -> None:
        emu = self.server.emu
        emu._note_model(route.repo)
        eu_only = [("model_eu", route.repo)] if emu._is_eu(str(self.client_address[0])) else []
        fault = emu._take_fault(*eu_only, ("model", route.repo)) or emu._flaky_fault()
        self._answer("model", fault, lambda _f: self._model_answer(route))

    def _model_answer(self, route: _Route) -> _Answer:
        emu = self.server.emu
        token = _bearer(self.headers.get("Authorization"))
        if token != VALID_KEY:
            return self._unauthorized()
        model = emu._models.get(route.repo)
        if model is None or model.org != route.org or model.team != route.team:
            return self._not_found(urlsplit(self.path).path)
        if model.eu_restricted and emu._is_eu(str(self.client_address[0])):
            return _Answer(451, raw=b"", content_type=None)
        return _Answer(200, emu._repo_payload(model))


# --------------------------------------------------------------------------- emulator


FaultTarget = tuple[str, Any]


class NgcEmulator:
    """The NGC emulator. ``with NgcEmulator(models) as emu: httpx.get(emu.url + ...)``.

    ``models=None`` seeds the 186 fixture models; pass ``[]`` for an empty catalog.
    Knobs are constructor keywords and plain attributes that tests may reassign at any time
    (each request reads them once). Counters are read through properties that return copies.
    """

    def __init__(
        self,
        models: Iterable[EmulatedModel] | None = None,
        *,
        port: int = 0,
        fixtures_dir: Path | None = None,
        page_size_cap: int | None = DEFAULT_PAGE_SIZE_CAP,
        latency_by_kind: Mapping[str, float] | None = None,
        eu_mode: bool = False,
        eu_addresses: Iterable[str] = (),
        flaky_rate: float = 0.0,
        flaky_429_rate: float = 0.0,
        seed: int = 0,
        page_total_hook: Callable[[int, int], int] | None = None,
        result_total_hook: Callable[[int, int], int] | None = None,
        duplicate_across_pages: bool = False,
        empty_pages: Iterable[int] = (),
    ) -> None:
        self._port = port
        self._templates = _Templates.load(fixtures_dir)
        self.page_size_cap: int | None = page_size_cap
        self.latency_by_kind: dict[str, float] = dict(latency_by_kind or {})
        self.eu_mode: bool = eu_mode
        self.eu_addresses: set[str] = set(eu_addresses)
        self.flaky_rate: float = flaky_rate
        self.flaky_429_rate: float = flaky_429_rate
        self.page_total_hook: Callable[[int, int], int] | None = page_total_hook
        self.result_total_hook: Callable[[int, int], int] | None = result_total_hook
        self.duplicate_across_pages: bool = duplicate_across_pages
        self.empty_pages: set[int] = set(empty_pages)

        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._models: dict[str, EmulatedModel] = {}
        self.set_models(load_fixture_models(fixtures_dir) if models is None else models)
        self._queued: dict[FaultTarget, deque[Fault]] = {}
        self._forever: dict[FaultTarget, Fault] = {}

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._bound_port: int | None = None
        self._stop_event = threading.Event()
        self._conns: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()

        self._stats = threading.Lock()
        self._log: list[RequestRecord] = []
        self._kind_counts: Counter[str] = Counter()
        self._model_calls: Counter[str] = Counter()
        self._page_calls: Counter[int] = Counter()
        self._in_flight = 0
        self._in_flight_by_kind: Counter[str] = Counter()
        self._max_in_flight = 0
        self._max_by_kind: Counter[str] = Counter()
        self._auth_failures = 0
        self._errors: list[str] = []

    # ---- lifecycle

    def start(self) -> NgcEmulator:
        with self._lock:
            if self._server is not None:
                return self
            self._stop_event = threading.Event()
            self._server = _Server(("127.0.0.1", self._port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": _WAIT_STEP},
                name="ngc-emulator",
                daemon=True,
            )
            self._thread.start()
            self._bound_port = int(self._server.server_address[1])
        return self

    def stop(self) -> None:
        """Stop promptly: closes the listener, live connections, and wakes hung handlers."""
        with self._lock:
            server = self._server
            thread = self._thread
            self._server = None
            if server is None or thread is None:
                return
            self._stop_event.set()
        server.shutdown()
        server.server_close()
        thread.join(2.0)
        with self._lock:
            conns = list(self._conns)
            threads = list(self._handler_threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 2.0
        for handler in threads:
            handler.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> NgcEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("NgcEmulator is not started")
        return self._bound_port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the ``{api}`` base of the contract)."""
        return f"http://127.0.0.1:{self.port}"

    # ---- models

    @property
    def models(self) -> list[EmulatedModel]:
        return list(self._models.values())

    def get_model(self, name: str) -> EmulatedModel:
        return self._models[name]

    def set_models(self, models: Iterable[EmulatedModel]) -> None:
        with self._lock:
            self._models = {}
            self.add_models(models)

    def add_models(self, models: Iterable[EmulatedModel]) -> None:
        with self._lock:
            new = dict(self._models)
            for model in models:
                if model.name in new:
                    raise ValueError(f"duplicate model name {model.name!r}")
                new[model.name] = model
            self._models = new

    def remove_model(self, name: str) -> None:
        with self._lock:
            models = dict(self._models)
            del models[name]
            self._models = models

    def update_model(self, name: str, **changes: Any) -> None:
        """Replace fields of a model (not its name), keeping its place in the catalog."""
        with self._lock:
            updated = dataclasses.replace(self._models[name], **changes)
            self._models = {**self._models, name: updated}

    # ---- faults

    def fault_model(self, name: str, *faults: Fault) -> None:
        """Queue faults for requests to model ``name``, one per request, then normal answers."""
        self._queue(("model", name), faults)

    def fault_model_forever(self, name: str, fault: Fault | None) -> None:
        """Apply ``fault`` to every request to ``name`` (after queued ones); None clears."""
        self._set_forever(("model", name), fault)

    def fault_model_eu(self, name: str, *faults: Fault) -> None:
        """Like :meth:`fault_model`, but only requests from EU callers (``eu_mode``, or a client
        address in ``eu_addresses``) consume them; other callers get their normal answers.

        For an EU caller the order is: queued EU faults, queued faults, the EU forever fault,
        the forever fault.
        """
        self._queue(("model_eu", name), faults)

    def fault_model_eu_forever(self, name: str, fault: Fault | None) -> None:
        """Like :meth:`fault_model_forever`, for EU callers only; None clears."""
        self._set_forever(("model_eu", name), fault)

    def fault_page(self, page: int, *faults: Fault) -> None:
        self._queue(("page", page), faults)

    def fault_page_forever(self, page: int, fault: Fault | None) -> None:
        self._set_forever(("page", page), fault)

    def fault_key(self, *faults: Fault) -> None:
        self._queue(("key", None), faults)

    def pending_faults(self) -> int:
        """How many queued (non-forever) faults are not consumed yet."""
        with self._lock:
            return sum(len(q) for q in self._queued.values())

    def _queue(self, target: FaultTarget, faults: Sequence[Fault]) -> None:
        with self._lock:
            self._queued.setdefault(target, deque()).extend(faults)

    def _set_forever(self, target: FaultTarget, fault: Fault | None) -> None:
        with self._lock:
            if fault is None:
                self._forever.pop(target, None)
            else:
                self._forever[target] = fault

    def _take_fault(self, *targets: FaultTarget) -> Fault | None:
        """The fault for one request: the first queued for ``targets``, else the first
        forever one."""
        with self._lock:
            for target in targets:
                if self._queued.get(target):
                    return self._queued[target].popleft()
            return next((self._forever[t] for t in targets if t in self._forever), None)

    def _flaky_fault(self) -> Fault | None:
        if self.flaky_rate <= 0 and self.flaky_429_rate <= 0:
            return None
        with self._lock:
            draw = self._rng.random()
        if draw < self.flaky_rate:
            return Fault.status(503)
        if draw < self.flaky_rate + self.flaky_429_rate:
            return Fault.status(429, retry_after="0")
        return None

    # ---- answers

    def _latency_for(self, kind: str) -> float:
        return self.latency_by_kind.get(kind, 0.0)

    def _is_eu(self, address: str) -> bool:
        return self.eu_mode or address in self.eu_addresses

    def _catalog_resource(self, model: EmulatedModel) -> dict[str, Any]:
        tpl, attrs = self._templates.resource, self._templates.attributes
        res: dict[str, Any] = {
            "orgName": model.org,
            "resourceId": model.resource_id,
            "labels": tpl.get("labels", []),
            "sharedWithTeams": [model.namespace] if model.team is not None else [],
        }
        if model.team is not None:
            res["teamName"] = model.team
        attributes: list[dict[str, str]] = []
        if model.latest_tag is not None:
            attributes.append({"key": "latestTag", "value": model.latest_tag})
        attributes += [
            {"key": "size", "value": attrs.get("size", "0")},
            {"key": "hasSignedTag", "value": attrs.get("hasSignedTag", "true")},
            {"key": "oneClickDeploy", "value": attrs.get("oneClickDeploy", "false")},
            {"key": "latestTagPushedDate", "value": model.latest_tag_pushed_date},
        ]
        res.update(
            {
                "msgTimestamp": tpl.get("msgTimestamp", 0),
                "dateModified": model.date_modified,
                "sharedWithOrgs": [],
                "description": model.short_description,
                "accessType": "LISTED",
                "dateCreated": tpl.get("dateCreated", model.updated_date),
                "weightPopular": tpl.get("weightPopular", 0),
                "createdBy": tpl.get("createdBy", ""),
                "displayName": model.display_name,
                "name": model.name,
                "resourceType": "CONTAINER",
                "attributes": attributes,
            }
        )
        return res

    def _catalog_answer(self, req: _CatalogQuery, fault: Fault | None) -> _Answer:
        models = list(self._models.values())
        if req.orgs:
            models = [m for m in models if m.org in req.orgs]
        total = len(models)
        cap = self.page_size_cap
        size = min(req.page_size, cap) if cap else req.page_size
        computed = math.ceil(total / size) if total else 0
        hook = self.page_total_hook
        page_total = hook(req.page, computed) if hook is not None else computed
        start = req.page * size
        items: list[EmulatedModel] = []
        if req.page not in self.empty_pages:
            items = models[start : start + size]
            if self.duplicate_across_pages and req.page > 0 and items:
                items.insert(0, models[start - 1])
        resources = [self._catalog_resource(m) for m in items]
        if fault is not None and fault.kind == "wrong_resource_fields":
            resources = [_apply_overrides(r, fault.overrides) for r in resources]
        params = dict(self._templates.params)
        params.update(
            {"scoredSize": len(resources), "pageSize": size, "page": req.page, "query": req.query}
        )
        results: list[dict[str, Any]] = []
        if total:
            results = [
                {"totalCount": len(resources), "groupValue": "_scored", "resources": resources},
                {"totalCount": total, "groupValue": "CONTAINER", "resources": resources},
            ]
        announced = total
        if self.result_total_hook is not None:
            announced = self.result_total_hook(req.page, total)
        payload = {
            "resultTotal": announced,
            "resultPageTotal": page_total,
            "params": params,
            "results": results,
        }
        return _Answer(200, payload)

    def _repo_payload(self, model: EmulatedModel) -> dict[str, Any]:
        out = dict(self._templates.repo)
        latest = model.latest_tag
        if latest is None and model.tags:
            latest = model.tags[0]
        out.update(
            {
                "sharedWithTeams": [model.namespace],
                "shortDescription": model.short_description,
                "namespace": model.namespace,
                "tags": list(model.tags),
                "displayName": model.display_name,
                "name": model.name,
                "updatedDate": model.updated_date,
                "latestTag": latest,
            }
        )
        if latest is None:
            del out["latestTag"]
        # The latest tag's image per platform, with a digest of this model's own.
        out["latestArchitectureVariants"] = [
            {**v, "digest": fake_digest(model.name, latest, str(v.get("architecture")))}
            for v in self._templates.repo.get("latestArchitectureVariants", [])
            if latest is not None
        ]
        return out

    # ---- bookkeeping (called from handler threads)

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)
            self._handler_threads.add(threading.current_thread())
            stopping = self._stop_event.is_set()
        if stopping:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.discard(conn)
            self._handler_threads.discard(threading.current_thread())

    def _begin(self, kind: str) -> None:
        with self._stats:
            self._in_flight += 1
            self._in_flight_by_kind[kind] += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._max_by_kind[kind] = max(self._max_by_kind[kind], self._in_flight_by_kind[kind])

    def _end(
        self, kind: str, path: str, status: int, client: str, start: float, end: float
    ) -> None:
        with self._stats:
            self._in_flight -= 1
            self._in_flight_by_kind[kind] -= 1
            self._kind_counts[kind] += 1
            self._log.append(RequestRecord(kind, path, status, client, start, end))

    def _note_page(self, page: int) -> None:
        with self._stats:
            self._page_calls[page] += 1

    def _note_model(self, name: str) -> None:
        with self._stats:
            self._model_calls[name] += 1

    def _auth_failure(self) -> None:
        with self._stats:
            self._auth_failures += 1

    def _record_error(self, text: str) -> None:
        with self._stats:
            self._errors.append(text)

    # ---- counters

    def reset_counters(self) -> None:
        with self._stats:
            self._log.clear()
            self._kind_counts.clear()
            self._model_calls.clear()
            self._page_calls.clear()
            self._max_in_flight = self._in_flight
            self._max_by_kind = Counter({k: v for k, v in self._in_flight_by_kind.items() if v})
            self._auth_failures = 0
            self._errors.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every finished request, in completion order."""
        with self._stats:
            return list(self._log)

    def count(self, kind: str, status: int | None = None) -> int:
        """Finished requests of ``kind`` ("catalog", "key", "model", "other"), maybe by status."""
        with self._stats:
            if status is None:
                return self._kind_counts[kind]
            return sum(1 for r in self._log if r.kind == kind and r.status == status)

    @property
    def model_calls(self) -> Counter[str]:
        with self._stats:
            return Counter(self._model_calls)

    @property
    def page_calls(self) -> Counter[int]:
        with self._stats:
            return Counter(self._page_calls)

    @property
    def max_in_flight(self) -> int:
        with self._stats:
            return self._max_in_flight

    @property
    def max_in_flight_by_kind(self) -> dict[str, int]:
        with self._stats:
            return dict(self._max_by_kind)

    @property
    def auth_failures(self) -> int:
        with self._stats:
            return self._auth_failures

    @property
    def errors(self) -> list[str]:
        """Tracebacks of unexpected exceptions inside the emulator (should stay empty)."""
        with self._stats:
            return list(self._errors)
