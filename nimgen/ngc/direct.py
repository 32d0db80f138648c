"""One keep-alive HTTP/1.1 connection to the NGC API: h11's state machine on asyncio streams.

h11 is the HTTP/1.1 protocol engine inside httpx (through httpcore). Driven directly,
a request costs about half the CPU of going through httpcore's connection pool and
network-stream layers (docs/performance.md has the candidates, measured in one run),
and the request path imports neither httpcore nor anyio. Connections through a proxy
keep httpcore (``transport.ProxyConnection``), which also does TLS inside a TLS tunnel.

Every failure below HTTP (connect, TLS, reset, a malformed answer) is ``TransportFailed``;
its cause chain keeps the original error (``policy.tls_failure`` looks for a certificate
problem there). Timeouts are the caller's: one ``asyncio.timeout`` bounds each attempt.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import h11

if TYPE_CHECKING:
    import ssl

# As httpcore: bytes asked of the socket per read, and the most a status line and
# headers may take before the answer is refused as malformed.
READ_BYTES = 64 * 1024
MAX_HEAD_BYTES = 100 * 1024
# As httpx: an idle connection older than this is closed rather than reused.
KEEPALIVE_EXPIRY = 5.0

Headers = tuple[tuple[bytes, bytes], ...]
# The most distinct header sets a connection keeps checked (a client sends two or three).
CHECKED_HEADER_SETS = 4


class TransportFailed(Exception):
    """A request failed below HTTP; the message says how, the cause why."""


class Reply:
    """The head of an answer, and its body as it arrives (``chunks``); ``aclose`` ends it."""

    def __init__(self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.reason = reason.decode("ascii", "ignore")
        self.headers = headers

    def chunks(self) -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


class DirectConnection:
    """A connection to ``host:port`` (TLS when ``tls`` is given), opened on first use and
    kept alive between requests; re-opened when the server closed it, sent anything
    unasked, or it sat idle longer than ``KEEPALIVE_EXPIRY``."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None) -> None:
        self._host = host
        self._port = port
        self._tls = tls
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._idle_since = 0.0
        self._checked: dict[Headers, Any] = {}

    def _checked_headers(self, headers: Headers) -> Any:
        """``headers`` as h11 checked them once. h11 checks a request's headers (a regular
        expression per name and value) each time unless given headers it checked itself:
        a client sends the same few sets, and checking each once takes a request's h11
        event from 10 to 3 microseconds."""
        checked = self._checked.get(headers)
        if checked is None:
            if len(self._checked) >= CHECKED_HEADER_SETS:
                self._checked.clear()
            event = h11.Request(method=b"GET", target=b"/", headers=list(headers))
            checked = self._checked[headers] = event.headers
        return checked

    async def send(self, method: bytes, target: bytes, headers: Headers, content: bytes) -> Reply:
        """Send one request; return once the answer's head has arrived."""
        if not self._reusable():
            await self._open()
        assert self._writer is not None
        machine = self._h11
        try:
            request = h11.Request(
                method=method, target=target, headers=self._checked_headers(headers)
            )
            data = machine.send(request)
            assert data is not None
            if content:
                data += machine.send(h11.Data(data=content)) or b""
            data += machine.send(h11.EndOfMessage()) or b""
            try:
                self._writer.write(data)
                await self._writer.drain()
            except (OSError, RuntimeError) as exc:  # a reset, or a transport already closed
                raise TransportFailed(str(exc) or type(exc).__name__) from exc
            while True:
                event = await self._next_event()
                if isinstance(event, h11.Response):
                    return _DirectReply(self, event)
                # Otherwise an InformationalResponse (1xx): the real answer follows.
        except BaseException:
            self.close()
            raise

    async def _next_event(self) -> h11.Event | type[h11.PAUSED]:
        assert self._reader is not None
        machine = self._h11
        while True:
            try:
                event = machine.next_event()
            except h11.RemoteProtocolError as exc:
                raise TransportFailed(str(exc) or "malformed answer") from exc
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]  # mypy cannot narrow a sentinel
            try:
                data = await self._reader.read(READ_BYTES)
            except (OSError, RuntimeError) as exc:
                raise TransportFailed(str(exc) or type(exc).__name__) from exc
            if not data and machine.their_state is h11.SEND_RESPONSE:
                # As httpcore says it: h11 would name its state machine instead.
                raise TransportFailed("Server disconnected without sending a response.")
            machine.receive_data(data)  # b"" is the end of the stream

    def _finished(self) -> None:
        """The answer was read to its end: keep the connection if both sides allow it."""
        machine = self._h11
        # Bytes read together with the answer's end (a late 408 sent right behind it, say)
        # stay in h11's buffer: after start_next_cycle they would be parsed as the next
        # request's answer. A connection holding any is not reused.
        trailing = machine.trailing_data[0]
        if machine.our_state is h11.DONE and machine.their_state is h11.DONE and not trailing:
            machine.start_next_cycle()
            self._idle_since = time.monotonic()
        else:  # "Connection: close", an answer left unread, or bytes nobody asked for
            self.close()

    def _reusable(self) -> bool:
        if self._reader is None:
            return False
        machine = self._h11
        if machine.our_state is not h11.IDLE or machine.their_state is not h11.IDLE:
            return False
        if time.monotonic() - self._idle_since > KEEPALIVE_EXPIRY:
            return False
        # An idle connection with anything to read (EOF, a reset, or a late answer such
        # as 408) must not carry the next request.
        reader = self._reader
        return (
            not reader.at_eof()
            and reader.exception() is None
            and not getattr(reader, "_buffer", b"")
        )

    async def _open(self) -> None:
        self.close()
        try:
            self._reader, self._writer = await asyncio.open_connection(
                self._host,
                self._port,
                ssl=self._tls,
                server_hostname=self._host if self._tls is not None else None,
                limit=READ_BYTES,
            )
        except OSError as exc:  # ssl.SSLError too: the cause says why (a certificate, say)
            raise TransportFailed(str(exc) or type(exc).__name__) from exc
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)


class _DirectReply(Reply):
    def __init__(self, connection: DirectConnection, head: h11.Response) -> None:
        super().__init__(head.status_code, head.reason, list(head.headers))
        self._connection = connection
        self._done = False

    async def chunks(self) -> AsyncIterator[bytes]:
        while not self._done:
            event = await self._connection._next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._done = True
            else:  # the stream ended inside the body without h11 noticing first
                raise TransportFailed("peer closed connection without sending complete body")

    async def aclose(self) -> None:
        if self._done:
            self._connection._finished()
        else:
            self._connection.close()
