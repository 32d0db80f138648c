"""The retrying HTTP client behind every NGC request.

Every request goes through the adaptive limiter and a retry loop: 429 (honouring
``Retry-After``), 5xx, timeouts, connection errors and unparseable bodies are retried
with jittered backoff, bounded in attempts and time; other answers are final.

Connections come from ``transport.Connections``: one keep-alive connection per request
in flight, so no request ever waits inside a connection pool (docs/performance.md has
the figures). Environment proxies are ignored: a proxy is used only when given
(``ClientSettings.proxy``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from nimgen.apikey import ApiKey, redact
from nimgen.collection import Logger
from nimgen.ngc.body import (
    BodyRefused,
    BodyUnreadable,
    SecretEcho,
    parse_json,
    read_capped,
)
from nimgen.ngc.limiter import AdaptiveLimiter
from nimgen.ngc.policy import tls_failure, tls_for
from nimgen.ngc.settings import MAX_RETRY_AFTER, ClientSettings
from nimgen.ngc.transport import Connections, Headers, Origin, Reply, TransportFailed


class Transient(Exception):
    """A failed attempt worth another try."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class Final(Exception):
    """An answer that another try would not change."""

    def __init__(self, reason: str, *, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class RequestFailed(Exception):
    """The request failed for good: ``reason`` says why, ``attempts`` how often it was tried."""

    def __init__(self, reason: str, attempts: int, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
        self.status = status


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    attempts: int


ECHOED_KEY = (
    "the answer contains the API key (or a piece of it): refused and not written; "
    "something between nimgen and NGC echoes requests"
)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # an HTTP date is rare: not loaded before the first request

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class RetryingClient:
    """Requests with retries, bounded by an adaptive limiter shared across the run.

    ``proxy`` (for the EU vantage) overrides ``settings.proxy``.
    """

    def __init__(
        self,
        settings: ClientSettings,
        key: ApiKey | None,
        *,
        limiter: AdaptiveLimiter,
        log: Logger | None = None,
        proxy: str | None = None,
    ) -> None:
        self.settings = settings
        self._key = key
        self._echo = SecretEcho(key.reveal()) if key is not None else None
        self._limiter = limiter
        self._log = log
        self._proxy = proxy if proxy is not None else settings.proxy
        self._connections: Connections | None = None
        self._origin = Origin(settings.api_url)
        self._headers: Headers = ()
        self._authorized: Headers = ()

    async def __aenter__(self) -> RetryingClient:
        self._connections = Connections(
            self._origin, tls_for(self.settings, self._proxy), self._proxy
        )
        # The same tuples for every request: a connection has h11 check each set once.
        self._headers = (
            (b"Host", self._origin.host_header),
            (b"Accept", b"application/json"),
            # Only what body.read_capped can inflate under its cap.
            (b"Accept-Encoding", b"gzip, deflate"),
            (b"Connection", b"keep-alive"),
            (b"User-Agent", _user_agent().encode("ascii")),
        )
        if self._key is not None:
            bearer = f"Bearer {self._key.reveal()}".encode()
            self._authorized = (*self._headers, (b"Authorization", bearer))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._connections is not None:
            await self._connections.aclose()

    # -- one request, retried ------------------------------------------------

    async def request(
        self,
        method: str,
        target: str,
        *,
        authorized: bool = False,
        form: Mapping[str, str] | None = None,
        final_statuses: frozenset[int] = frozenset(),
        body_is_used: bool = True,
    ) -> Answer:
        """Send a request for ``target`` (path and query) until it yields a usable answer.

        200 with a JSON body, and any status in ``final_statuses``, are answers.
        Raises ``RequestFailed`` once retries are exhausted or the answer is final.
        ``body_is_used=False`` (an answer nimgen reads nothing from) skips the echo check.
        """
        assert self._connections is not None, "use the client as an async context manager"
        settings = self.settings
        limiter = self._limiter
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            try:
                async with limiter:
                    status, body = await self._once(
                        method, target, authorized, form, final_statuses, body_is_used
                    )
                limiter.on_success()
                return Answer(status, body, attempts)
            except Transient as exc:
                # Stop after max_attempts tries, or once the retry budget is spent.
                if (
                    attempts >= settings.max_attempts
                    or time.monotonic() - started >= settings.retry_budget
                ):
                    plural = "s" if attempts != 1 else ""
                    raise RequestFailed(
                        f"{exc.reason} (gave up after {attempts} attempt{plural})",
                        attempts,
                        exc.status,
                    ) from None
                if exc.retry_after is not None:
                    wait = min(exc.retry_after, MAX_RETRY_AFTER)
                else:
                    ceiling = min(settings.backoff_cap, settings.backoff_base * 2**attempts)
                    wait = random.uniform(0, ceiling)
                await asyncio.sleep(wait)
            except Final as exc:
                raise RequestFailed(exc.reason, attempts, exc.status) from None

    async def _once(
        self,
        method: str,
        target: str,
        authorized: bool,
        form: Mapping[str, str] | None,
        final_statuses: frozenset[int],
        body_is_used: bool,
    ) -> tuple[int, Any]:
        assert self._connections is not None
        headers = self._authorized if authorized and self._key is not None else self._headers
        content = b""
        if form is not None:
            content = urlencode(form).encode("ascii")
            headers = (
                *headers,
                (b"Content-Type", b"application/x-www-form-urlencoded"),
                (b"Content-Length", str(len(content)).encode("ascii")),
            )
        started = time.monotonic()
        status: int | str = "-"
        connection = self._connections.take()
        try:
            async with asyncio.timeout(self.settings.request_timeout):
                answer = await connection.send(
                    method.encode("ascii"), target.encode("ascii"), headers, content
                )
                try:
                    status = answer.status
                    body = await self._read_body(answer)
                finally:
                    await answer.aclose()
        except TimeoutError:
            status = "timeout"
            raise Transient(
                f"no answer within --request-timeout {self.settings.request_timeout:g}s"
            ) from None
        except TransportFailed as exc:
            status = "error"
            tls = tls_failure(exc)
            if tls is not None:
                # Another try meets the same certificate: final, and said plainly.
                raise Final(
                    f"TLS certificate verification failed ({tls}); if a proxy re-signs "
                    "TLS traffic, pass its CA certificate with --ca-bundle PATH"
                ) from None
            raise Transient(f"connection failed: {_describe(exc)}") from None
        finally:
            self._connections.give(connection)
            if self._log is not None:
                elapsed = time.monotonic() - started
                url = self.settings.api_url + target
                self._log(redact(f"{method} {url} {status} {elapsed:.3f}s"))
        return self._interpret(answer, body, final_statuses, body_is_used)

    async def _read_body(self, answer: Reply) -> bytes:
        cap = self.settings.max_response_bytes
        declared = _header(answer, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise Final(f"answer of {int(declared)} bytes refused (limit {cap} bytes)")
        try:
            return await read_capped(
                answer.chunks(), _header(answer, b"content-encoding") or "", cap
            )
        except BodyRefused as exc:
            raise Final(str(exc)) from None
        except BodyUnreadable as exc:
            raise Transient(str(exc), status=answer.status) from None

    def _interpret(
        self,
        response: Reply,
        body: bytes,
        final_statuses: frozenset[int],
        body_is_used: bool,
    ) -> tuple[int, Any]:
        status = response.status
        if status in final_statuses:
            return status, None
        if status == 429:
            retry_after = parse_retry_after(_header(response, b"retry-after"))
            # Halves concurrency once per burst and pauses new requests for Retry-After.
            self._limiter.on_throttled(
                min(retry_after, MAX_RETRY_AFTER) if retry_after is not None else None
            )
            raise Transient("HTTP 429 Too Many Requests", status=429, retry_after=retry_after)
        if status >= 500:
            raise Transient(f"HTTP {status} {response.reason}".rstrip(), status=status)
        if status != 200:
            raise Final(f"HTTP {status} {response.reason}".rstrip(), status=status)
        content_type = _header(response, b"content-type") or ""
        if "json" not in content_type.lower():
            kind = content_type.split(";")[0].strip() or "no content type"
            raise Transient(f"HTTP 200 with a non-JSON body ({kind})", status=200)
        try:
            parsed = parse_json(body)
        except BodyRefused as exc:
            raise Final(str(exc), status=200) from None
        except (ValueError, UnicodeDecodeError):
            raise Transient("HTTP 200 with a truncated or invalid JSON body", status=200) from None
        if body_is_used and self._echo is not None and self._echo.found_in(body, parsed):
            raise Final(ECHOED_KEY, status=200)
        return status, parsed


def _header(answer: Reply, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case), as text."""
    for key, value in answer.headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _describe(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return redact(text.splitlines()[0])


def _user_agent() -> str:
    from nimgen import __version__

    return f"nimgen/{__version__}"
