"""The direct HTTP/1.1 connection (h11 on asyncio streams) against a scripted loopback server.

Each server answers every request with the next scripted reply (raw bytes; ``None``
closes the connection without answering) and counts the TCP connections it accepted, so
the tests see when a connection is reused and when a fresh one is opened.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from nimgen.sources.ngc import direct
from nimgen.sources.ngc.direct import DirectConnection, TransportFailed

T = TypeVar("T")

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
RESET = b"<reset>"
HEADERS = [(b"Host", b"127.0.0.1"), (b"Accept", b"application/json")]


class ScriptedServer:
    def __init__(self, replies: list[bytes | None], *, close_after_reply: bool = False) -> None:
        self.replies = replies
        self.close_after_reply = close_after_reply
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                reply = self.replies.pop(0) if self.replies else OK
                if reply is None:
                    break
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


def run(body: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(body(), 20))


async def get(connection: DirectConnection, target: bytes = b"/x") -> tuple[int, bytes]:
    answer = await connection.send(b"GET", target, HEADERS, b"")
    try:
        return answer.status, b"".join([chunk async for chunk in answer.chunks()])
    finally:
        await answer.aclose()


def test_a_keep_alive_connection_carries_the_next_request() -> None:
    async def body() -> None:
        async with ScriptedServer([]) as server:
            connection = DirectConnection("127.0.0.1", server.port, None)
            assert await get(connection) == (200, b"{}")
            assert await get(connection) == (200, b"{}")
            assert server.connections == 1
            assert len(server.requests) == 2
            await connection.aclose()

    run(body)


def test_connection_close_and_an_unread_answer_each_open_a_fresh_connection() -> None:
    closing = OK.replace(b"Content-Length", b"Connection: close\r\nContent-Length")
    large = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000

    async def body() -> None:
        async with ScriptedServer([closing, large]) as server:
            connection = DirectConnection("127.0.0.1", server.port, None)
            assert await get(connection) == (200, b"{}")
            answer = await connection.send(b"GET", b"/large", HEADERS, b"")
            await answer.aclose()  # the body is left unread: the connection cannot be reused
            assert await get(connection) == (200, b"{}")
            assert server.connections == 3

    run(body)


def test_an_idle_connection_the_server_closed_is_replaced_without_a_failure() -> None:
    async def body() -> None:
        async with ScriptedServer([OK, None]) as server:
            connection = DirectConnection("127.0.0.1", server.port, None)
            assert await get(connection) == (200, b"{}")
            # The server closes the connection on the second request without answering:
            # that request fails (the caller retries it) ...
            with pytest.raises(TransportFailed, match="without sending a response"):
                await get(connection)
            # ... and the next one goes out on a fresh connection.
            assert await get(connection) == (200, b"{}")
            assert server.connections == 2

    run(body)


def test_an_idle_connection_with_anything_to_read_is_not_reused() -> None:
    async def body() -> None:
        async with ScriptedServer([]) as server:
            connection = DirectConnection("127.0.0.1", server.port, None)
            assert await get(connection) == (200, b"{}")
            # A late answer nobody asked for (a server's 408 before it closes, say) waits
            # in the idle connection: it must not be read as the next request's answer.
            assert connection._reader is not None
            connection._reader.feed_data(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
            assert await get(connection) == (200, b"{}")
            assert server.connections == 2

    run(body)


def test_an_idle_connection_the_server_reset_is_replaced_without_a_failure() -> None:
    ok_then_reset = OK + RESET  # the server answers, then resets the idle connection

    async def body() -> None:
        async with ScriptedServer([ok_then_reset]) as server:
            connection = DirectConnection("127.0.0.1", server.port, None)
            assert await get(connection) == (200, b"{}")
            for _ in range(100):  # until the reset has reached the client's reader
                if connection._reader is None or connection._reader.exception() is not None:
                    break
                await asyncio.sleep(0.01)
            assert await get(connection) == (200, b"{}")
            assert server.connections == 2

    run(body)


def test_an_idle_connection_past_its_expiry_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    async def body() -> None:
        async with ScriptedServer([]) as server:
            connection = DirectConnection("127.0.0.1", server.port, None)
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
            connection = DirectConnection("127.0.0.1", server.port, None)
            assert await get(connection) == (200, b'{"a":1}')
            assert await get(connection) == (200, b"{}")
            assert server.connections == 1

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
def test_a_broken_answer_is_a_transport_failure(reply: bytes | None, message: str) -> None:
    async def body() -> None:
        # The server closes the connection after each scripted reply.
        async with ScriptedServer([reply], close_after_reply=True) as server:
            connection = DirectConnection("127.0.0.1", server.port, None)
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
