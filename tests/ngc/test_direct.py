"""The direct HTTP/1.1 connection (h11 on asyncio streams) against a scripted loopback server.

Each server answers every request with the next scripted reply (raw bytes; ``None``
closes the connection without answering) and counts the TCP connections it accepted, so
the tests see when a connection is reused and when a fresh one is opened. Tests that take
the ``scheme`` fixture run twice: over plain TCP and over TLS (a throw-away CA).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import h11
import h11._headers
import pytest

from nimgen.ngc import direct
from nimgen.ngc.direct import DirectConnection, TransportFailed
from tests.support.fault_kit import make_test_ca

T = TypeVar("T")

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
RESET = b"<reset>"
# Suffixes of a scripted reply: a 408 nobody asked for 50 ms after the reply; or nothing
# more, the connection held open until the client closes it.
LATE = b"<late>"
STALL = b"<stall>"
LATE_408 = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"
HEADERS = ((b"Host", b"127.0.0.1"), (b"Accept", b"application/json"))
# (client context, server context) for TLS; None for plain TCP.
Scheme = tuple[ssl.SSLContext, ssl.SSLContext] | None


class ScriptedServer:
    def __init__(
        self,
        replies: list[bytes | None],
        *,
        close_after_reply: bool = False,
        scheme: Scheme = None,
    ) -> None:
        self.replies = replies
        self.close_after_reply = close_after_reply
        self.scheme = scheme
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        tls = self.scheme[1] if self.scheme else None
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()

    def connection(self) -> DirectConnection:
        """A client connection to this server (trusting its CA over TLS)."""
        return DirectConnection("127.0.0.1", self.port, self.scheme[0] if self.scheme else None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                reply = self.replies.pop(0) if self.replies else OK
                if reply is None:
                    break
                if reply.endswith(LATE):
                    writer.write(reply.removesuffix(LATE))
                    await asyncio.sleep(0.05)
                    writer.write(LATE_408)
                    await writer.drain()
                    continue
                if reply.endswith(STALL):
                    writer.write(reply.removesuffix(STALL))
                    await reader.read()  # until the client closes
                    return
                if reply.endswith(RESET) and reply != RESET:  # answer, then reset when idle
                    writer.write(reply.removesuffix(RESET))
                    await writer.drain()
                    await asyncio.sleep(0.05)
                    reply = RESET
                if reply == RESET:  # a TCP reset, not a clean close
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                writer.write(reply)
                await writer.drain()
                if b"Connection: close" in reply or self.close_after_reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A client context trusting a throw-away CA, and a server context it signed."""
    ca, cert, key = make_test_ca(Path(tmp_path_factory.mktemp("tls")))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    return ssl.create_default_context(cafile=str(ca)), server


@pytest.fixture(params=["tcp", "tls"])
def scheme(request: pytest.FixtureRequest) -> Scheme:
    return request.getfixturevalue("tls") if request.param == "tls" else None


def run(body: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(body(), 20))


async def get(connection: DirectConnection, target: bytes = b"/x") -> tuple[int, bytes]:
    answer = await connection.send(b"GET", target, HEADERS, b"")
    try:
        return answer.status, b"".join([chunk async for chunk in answer.chunks()])
    finally:
        await answer.aclose()


async def until(condition: Callable[[], object]) -> None:
    """Wait (up to a second) for something the event loop delivers: a reset, a late answer."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition never held")


def test_a_keep_alive_connection_carries_the_next_request() -> None:
    async def body() -> None:
        async with ScriptedServer([]) as server:
            connection = server.connection()
            assert await get(connection) == (200, b"{}")
            assert await get(connection) == (200, b"{}")
            assert server.connections == 1
            assert len(server.requests) == 2
            await connection.aclose()

    run(body)


def test_headers_are_checked_once_per_set_and_sent_as_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks: list[object] = []
    real = direct.h11.Request

    def counting(**kwargs: object) -> object:
        if not isinstance(kwargs["headers"], h11._headers.Headers):
            checks.append(kwargs["headers"])  # h11 checks these
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(direct.h11, "Request", counting)
    other = (*HEADERS, (b"Authorization", b"Bearer x"))

    async def body() -> None:
        async with ScriptedServer([]) as server:
            connection = server.connection()
            for _ in range(3):
                assert await get(connection) == (200, b"{}")
                answer = await connection.send(b"GET", b"/y", other, b"")
                await answer.aclose()
            assert server.requests[0].startswith(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert b"\r\nAuthorization: Bearer x\r\n" in server.requests[1]

    run(body)
    assert len(checks) == 2  # each set once, not once per request


def test_headers_h11_refuses_are_still_refused() -> None:
    async def body() -> None:
        async with ScriptedServer([]) as server:
            with pytest.raises(h11.LocalProtocolError):
                await server.connection().send(b"GET", b"/x", ((b"Bad\n", b"x"),), b"")

    run(body)


def test_connection_close_and_an_unread_answer_each_open_a_fresh_connection() -> None:
    closing = OK.replace(b"Content-Length", b"Connection: close\r\nContent-Length")
    large = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000

    async def body() -> None:
        async with ScriptedServer([closing, large]) as server:
            connection = server.connection()
            assert await get(connection) == (200, b"{}")
            answer = await connection.send(b"GET", b"/large", HEADERS, b"")
            await answer.aclose()  # the body is left unread: the connection cannot be reused
            assert await get(connection) == (200, b"{}")
            assert server.connections == 3

    run(body)


def test_an_idle_connection_the_server_closed_is_replaced_without_a_failure() -> None:
    async def body() -> None:
        async with ScriptedServer([OK, None]) as server:
            connection = server.connection()
            assert await get(connection) == (200, b"{}")
            # The server closes the connection on the second request without answering:
            # that request fails (the caller retries it) ...
            with pytest.raises(TransportFailed, match="without sending a response"):
                await get(connection)
            # ... and the next one goes out on a fresh connection.
            assert await get(connection) == (200, b"{}")
            assert server.connections == 2

    run(body)


def test_a_late_answer_makes_the_connection_stale() -> None:
    async def body() -> None:
        # The 408 arrives after the answer was read, or with it (in the same segment).
        async with ScriptedServer([OK + LATE, OK + LATE_408]) as server:
            connection = server.connection()
            assert await get(connection) == (200, b"{}")
            reader = connection._reader
            assert reader is not None
            await until(lambda: getattr(reader, "_buffer", b""))  # the 408 waits, unread
            assert await get(connection) == (200, b"{}")  # not the 408: a new connection
            # The 408 came in the same read as this answer: it is left in h11's buffer,
            # and the connection is closed as soon as the answer is done.
            assert connection._reader is None
            assert await get(connection) == (200, b"{}")
            assert server.connections == 3

    run(body)


def test_an_idle_connection_the_server_reset_is_replaced_without_a_failure() -> None:
    ok_then_reset = OK + RESET  # the server answers, then resets the idle connection

    async def body() -> None:
        async with ScriptedServer([ok_then_reset]) as server:
            connection = server.connection()
            assert await get(connection) == (200, b"{}")
            reader = connection._reader
            assert reader is not None
            await until(lambda: reader.exception() is not None or reader.at_eof())
            assert await get(connection) == (200, b"{}")
            assert server.connections == 2

    run(body)


def test_an_idle_connection_past_its_expiry_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    async def body() -> None:
        async with ScriptedServer([]) as server:
            connection = server.connection()
            assert await get(connection) == (200, b"{}")
            monkeypatch.setattr(direct, "KEEPALIVE_EXPIRY", -1.0)
            assert await get(connection) == (200, b"{}")
            assert server.connections == 2

    run(body)


def test_informational_answers_are_skipped_and_chunked_bodies_decoded() -> None:
    chunked = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'3\r\n{"a\r\n4\r\n":1}\r\n0\r\n\r\n'
    )

    async def body() -> None:
        async with ScriptedServer([chunked]) as server:
            connection = server.connection()
            assert await get(connection) == (200, b'{"a":1}')
            assert await get(connection) == (200, b"{}")
            assert server.connections == 1

    run(body)


def test_a_large_body_is_read_in_bounded_pieces_on_a_kept_connection(scheme: Scheme) -> None:
    size = 16 * 1024 * 1024
    large = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size
    # The stream reader pauses the transport past twice its limit; what the transport hands
    # over at once may land before it stops: one read (asyncio's 256 KiB), and over TLS what
    # its paused layer held too (up to another 256 KiB).
    bound = 2 * direct.READ_BYTES + (2 if scheme else 1) * 256 * 1024

    async def body() -> None:
        async with ScriptedServer([OK, large, OK], scheme=scheme) as server:
            connection = server.connection()
            assert await get(connection) == (200, b"{}")
            answer = await connection.send(b"GET", b"/large", HEADERS, b"")
            reader = connection._reader
            assert reader is not None
            received, largest, buffered, paused = 0, 0, 0, False
            async for chunk in answer.chunks():
                received += len(chunk)
                largest = max(largest, len(chunk))
                await asyncio.sleep(0.001)  # a slow reader: the server gets ahead
                buffered = max(buffered, len(getattr(reader, "_buffer", b"")))
                paused = paused or getattr(reader, "_paused", False)
            await answer.aclose()
            assert received == size
            assert largest <= direct.READ_BYTES  # one read of the socket at most
            assert paused and buffered <= bound  # memory bounded: the server waited
            assert await get(connection) == (200, b"{}")
            assert server.connections == 1  # read whole: the connection is kept
            await connection.aclose()

    run(body)


@pytest.mark.parametrize("during", ["head", "body"])
def test_cancelling_a_request_mid_answer_closes_its_connection(during: str) -> None:
    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"

    async def body() -> None:
        async with ScriptedServer([STALL if during == "head" else partial + STALL]) as server:
            connection = server.connection()
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    answer = await connection.send(b"GET", b"/x", HEADERS, b"")
                    try:
                        assert [chunk async for chunk in answer.chunks()] == [b"{}"]
                    finally:
                        await answer.aclose()
            assert connection._reader is None
            assert await get(connection) == (200, b"{}")  # on a new connection
            assert server.connections == 2

    run(body)


def test_cancelled_requests_leave_no_transport_open() -> None:
    async def body() -> None:
        async with ScriptedServer([STALL]) as server:
            connection = server.connection()
            task = asyncio.create_task(connection.send(b"GET", b"/x", HEADERS, b""))
            await until(lambda: server.requests)  # the request is out, its answer awaited
            writer = connection._writer
            assert writer is not None
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert writer.transport.is_closing()
            assert connection._reader is None and connection._writer is None

    run(body)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", "illegal status line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", "peer closed connection"),
        (None, "Server disconnected without sending a response"),
        (RESET, "reset|Connection lost|disconnected"),
        (
            b"HTTP/1.1 200 OK\r\nX: " + b"a" * (direct.MAX_HEAD_BYTES + 10),
            "Receive buffer too long",
        ),
    ],
    ids=["malformed", "truncated-body", "no-answer", "reset", "head-too-large"],
)
def test_a_broken_answer_is_a_transport_failure(
    scheme: Scheme, reply: bytes | None, message: str
) -> None:
    async def body() -> None:
        # The server closes the connection after each scripted reply.
        async with ScriptedServer([reply], close_after_reply=True, scheme=scheme) as server:
            connection = server.connection()
            with pytest.raises(TransportFailed, match=message):
                await get(connection)
            assert connection._reader is None  # never reused
            assert await get(connection) == (200, b"{}")  # the next request: a new connection

    run(body)


def test_a_refused_connection_keeps_its_cause() -> None:
    async def body() -> None:
        async with ScriptedServer([]) as server:
            port = server.port
        connection = DirectConnection("127.0.0.1", port, None)
        with pytest.raises(TransportFailed) as failure:
            await get(connection)
        assert isinstance(failure.value.__cause__, OSError)

    run(body)


def test_an_untrusted_certificate_is_the_cause_of_the_failure(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    async def body() -> None:
        async with ScriptedServer([], scheme=tls) as server:
            connection = DirectConnection("127.0.0.1", server.port, ssl.create_default_context())
            with pytest.raises(TransportFailed) as failure:
                await get(connection)
            assert isinstance(failure.value.__cause__, ssl.SSLCertVerificationError)

    run(body)
