"""A small loopback forward proxy for tests (stdlib only, one thread per connection).

* absolute-form requests (``GET http://127.0.0.1:PORT/path HTTP/1.1``): forwarded in
  origin-form over a fresh upstream connection, one request per client connection
  (the answer carries ``Connection: close``);
* ``CONNECT host:port``: a raw two-way tunnel.

Upstream connections leave from 127.0.0.2, so a server on 127.0.0.1 sees the proxy's
traffic coming from there: that is how tests put a caller "in the EU" for
:class:`ngc_emulator.NgcEmulator`. Only loopback targets are dialled; anything else gets
403. Optional Basic proxy auth (407 without it).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import ipaddress
import socket
import socketserver
import threading
from typing import Any, Final
from urllib.parse import urlsplit

_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_MAX_LINE: Final = 65536
_MAX_HEADERS: Final = 200
_MAX_BODY: Final = 16 << 20
_BUF: Final = 65536

Headers = list[tuple[str, str]]


class _ProxyError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def _header(headers: Headers, name: str) -> str | None:
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _split_host_port(authority: str, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = authority.rpartition(":") if ":" in authority else (authority, "", "")
    try:
        port = int(port_text) if port_text else default_port
    except ValueError as exc:
        raise _ProxyError(400, "Bad Request") from exc
    if not host or not 0 < port < 65536:
        raise _ProxyError(400, "Bad Request")
    return host, port


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], proxy: ForwardProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a test proxy: connection errors are expected and not worth printing


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        proxy = self.server.proxy
        proxy._track(self.connection)
        try:
            self._handle()
        except _ProxyError as err:
            self._reply(err.status, err.reason)
        except (OSError, ValueError):
            pass
        finally:
            proxy._untrack(self.connection)

    # ---- parsing

    def _read_head(self) -> tuple[str, str, Headers] | None:
        line = self.rfile.readline(_MAX_LINE + 1)
        if not line:
            return None
        parts = line.decode("latin-1").strip().split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _ProxyError(400, "Bad Request")
        headers: Headers = []
        while True:
            raw = self.rfile.readline(_MAX_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            if len(headers) >= _MAX_HEADERS or len(raw) > _MAX_LINE:
                raise _ProxyError(431, "Request Header Fields Too Large")
            key, sep, value = raw.decode("latin-1").partition(":")
            if not sep:
                raise _ProxyError(400, "Bad Request")
            headers.append((key.strip(), value.strip()))
        return parts[0].upper(), parts[1], headers

    def _read_body(self, headers: Headers) -> bytes:
        """The request's body, which its Content-Length delimits (clients under test send
        no chunked bodies)."""
        length = _header(headers, "Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError as exc:
            raise _ProxyError(400, "Bad Request") from exc
        if not 0 <= size <= _MAX_BODY:
            raise _ProxyError(413, "Content Too Large")
        return self.rfile.read(size)

    # ---- answers

    def _reply(self, status: int, reason: str, extra: str = "") -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(
                (
                    f"HTTP/1.1 {status} {reason}\r\n{extra}"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n"
                ).encode("latin-1")
            )
        self.server.proxy._log(status)

    # ---- the two modes

    def _handle(self) -> None:
        proxy = self.server.proxy
        head = self._read_head()
        if head is None:
            return
        method, target, headers = head
        proxy._count(method, target)
        if not proxy._authorized(_header(headers, "Proxy-Authorization")):
            proxy._auth_failed()
            self._reply(
                407,
                "Proxy Authentication Required",
                'Proxy-Authenticate: Basic realm="nimgen-test-proxy"\r\n',
            )
            return
        if method == "CONNECT":
            self._connect(target)
        else:
            self._forward(method, target, headers)

    def _connect(self, target: str) -> None:
        host, port = _split_host_port(target, 443)
        proxy = self.server.proxy
        upstream = proxy._dial(host, port)
        try:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            proxy._log(200)
            self._relay(upstream)
        finally:
            proxy._close(upstream)

    def _relay(self, upstream: socket.socket) -> None:
        """Copy both ways until both sides are done (half-close aware)."""
        client = self.connection

        def client_to_upstream() -> None:
            try:
                while data := self.rfile.read1(_BUF):
                    upstream.sendall(data)
                upstream.shutdown(socket.SHUT_WR)
            except (OSError, ValueError):
                _kill(client, upstream)

        pump = threading.Thread(target=client_to_upstream, daemon=True, name="proxy-pump")
        pump.start()
        try:
            while data := upstream.recv(_BUF):
                client.sendall(data)
            client.shutdown(socket.SHUT_WR)
        except OSError:
            _kill(client, upstream)
        pump.join()

    def _forward(self, method: str, target: str, headers: Headers) -> None:
        url = urlsplit(target)
        if url.scheme.lower() != "http" or not url.netloc:
            raise _ProxyError(400, "Bad Request")
        host, port = _split_host_port(url.netloc.rpartition("@")[2], 80)
        body = self._read_body(headers)
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        lines = [f"{method} {path} HTTP/1.1"]
        has_host = False
        for key, value in headers:
            low = key.lower()
            if low in _HOP_BY_HOP or low == "content-length":
                continue
            has_host = has_host or low == "host"
            lines.append(f"{key}: {value}")
        if not has_host:
            lines.append(f"Host: {url.netloc.rpartition('@')[2]}")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: close")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

        proxy = self.server.proxy
        upstream = proxy._dial(host, port)
        client = self.connection
        watcher: threading.Thread | None = None

        def watch_client() -> None:
            # The client has said its piece: EOF (or an error) here means it gave up.
            try:
                while self.rfile.read1(_BUF):
                    pass
            except (OSError, ValueError):
                pass
            with contextlib.suppress(OSError):
                upstream.shutdown(socket.SHUT_RDWR)

        try:
            upstream.sendall(request)
            watcher = threading.Thread(target=watch_client, daemon=True, name="proxy-watch")
            watcher.start()
            with upstream.makefile("rb") as reader:
                try:
                    status = self._relay_response_head(reader)
                except _ProxyError as err:
                    self._reply(err.status, err.reason)
                    return
                proxy._log(status)
                while data := reader.read1(_BUF):
                    client.sendall(data)
        finally:
            _kill(client, upstream)
            if watcher is not None:
                watcher.join(2.0)
            proxy._close(upstream)

    def _relay_response_head(self, reader: Any) -> int:
        status_line = reader.readline(_MAX_LINE + 1)
        if not status_line:
            raise _ProxyError(502, "Bad Gateway")
        parts = status_line.decode("latin-1").split(None, 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError) as exc:
            raise _ProxyError(502, "Bad Gateway") from exc
        out = [status_line.rstrip(b"\r\n")]
        while True:
            raw = reader.readline(_MAX_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            name = raw.split(b":", 1)[0].strip().lower().decode("latin-1")
            if name in ("connection", "keep-alive", "proxy-connection"):
                continue
            out.append(raw.rstrip(b"\r\n"))
        out.append(b"Connection: close")
        self.connection.sendall(b"\r\n".join(out) + b"\r\n\r\n")
        return status


def _kill(*socks: socket.socket) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)


class ForwardProxy:
    """``with ForwardProxy() as proxy: httpx.Client(proxy=proxy.url)``.

    Counters (thread-safe): ``requests`` (every request line received, CONNECT included),
    ``connects``, ``auth_failures`` and ``log`` (list of (method, target, status)).
    """

    def __init__(self, *, username: str | None = None, password: str | None = None) -> None:
        self.username = username
        self.password = password
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._bound_port: int | None = None
        self._socks: set[socket.socket] = set()
        self._requests = 0
        self._connects = 0
        self._auth_failures = 0
        self._log_entries: list[tuple[str, str, int]] = []
        self._local = threading.local()

    # ---- lifecycle

    def start(self) -> ForwardProxy:
        with self._lock:
            if self._server is not None:
                return self
            self._server = _Server(("127.0.0.1", 0), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="forward-proxy",
                daemon=True,
            )
            self._thread.start()
            self._bound_port = int(self._server.server_address[1])
        return self

    def stop(self) -> None:
        with self._lock:
            server = self._server
            thread = self._thread
            self._server = None
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join(2.0)
        with self._lock:
            socks = list(self._socks)
        _kill(*socks)

    def __enter__(self) -> ForwardProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("ForwardProxy is not started")
        return self._bound_port

    @property
    def url(self) -> str:
        """``http://[user:password@]127.0.0.1:PORT`` - pass as httpx's ``proxy=``."""
        auth = ""
        if self.username is not None:
            auth = f"{self.username}:{self.password or ''}@"
        return f"http://{auth}127.0.0.1:{self.port}"

    # ---- counters

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    @property
    def connects(self) -> int:
        with self._lock:
            return self._connects

    @property
    def auth_failures(self) -> int:
        with self._lock:
            return self._auth_failures

    @property
    def log(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self._log_entries)

    def reset_counters(self) -> None:
        with self._lock:
            self._requests = 0
            self._connects = 0
            self._auth_failures = 0
            self._log_entries.clear()

    # ---- used by handler threads

    def _count(self, method: str, target: str) -> None:
        self._local.current = (method, target)
        with self._lock:
            self._requests += 1
            if method == "CONNECT":
                self._connects += 1

    def _log(self, status: int) -> None:
        method, target = getattr(self._local, "current", ("?", "?"))
        with self._lock:
            self._log_entries.append((method, target, status))

    def _auth_failed(self) -> None:
        with self._lock:
            self._auth_failures += 1

    def _authorized(self, header: str | None) -> bool:
        if self.username is None:
            return True
        if not header:
            return False
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = f"{self.username}:{self.password or ''}".encode()
        return hmac.compare_digest(given, expected)

    def _dial(self, host: str, port: int) -> socket.socket:
        if host.lower() == "localhost":
            host = "127.0.0.1"
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise _ProxyError(403, "Forbidden")  # tests never leave the machine
        # From 127.0.0.2 (see the module's docstring); IPv6 has no such second address.
        source = ("127.0.0.2", 0) if ipaddress.ip_address(host).version == 4 else None
        try:
            sock = socket.create_connection((host, port), timeout=5.0, source_address=source)
        except OSError as exc:
            raise _ProxyError(502, "Bad Gateway") from exc
        sock.settimeout(None)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._track(sock)
        return sock

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.discard(sock)

    def _close(self, sock: socket.socket) -> None:
        self._untrack(sock)
        with contextlib.suppress(OSError):
            sock.close()
