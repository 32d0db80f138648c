"""The NGC client: httpx sends, tenacity retries, and every answer is read without trust.

A request is tried until it gives a usable answer: 429 (after its ``Retry-After``, which
also pauses every new request), 5xx, timeouts, failed connections and unreadable bodies
are retried with full-jitter backoff, at most ``max_attempts`` times within
``retry_budget`` seconds; anything else is final. An answer must be uncompressed (nimgen
asks for ``identity``; a server that compresses anyway is refused, never inflated), at
most ``max_response_bytes``, not a redirect (never followed) and free of the key. Only
``proxy`` is ever used: the environment's proxy variables are not read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from nimgen.apikey import ApiKey, redact
from nimgen.collection import CatalogEntry, Logger
from nimgen.errors import BadInput, KeyRejected, RunFailed
from nimgen.ngc.echo import SecretEcho
from nimgen.ngc.policy import DEFAULT_API_URL, tls_failure, tls_for

CATALOG_ORG = "nim"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_RETRY_AFTER = 60.0
ECHOED_KEY = (
    "the answer contains the API key (or a piece of it): refused and not written; "
    "something between nimgen and NGC echoes requests"
)


@dataclass(frozen=True)
class ClientSettings:
    api_url: str = DEFAULT_API_URL
    concurrency: int = 32
    request_timeout: float = 30.0
    # 8 tries ride out a 20 % error rate: a model then fails about once in 690 runs of
    # 186 models (0.23**8 per model), where 6 tries would fail one run in 36.
    max_attempts: int = 8
    retry_budget: float = 120.0  # seconds one request may take over all its tries
    page_size: int = 100
    max_response_bytes: int = MAX_RESPONSE_BYTES
    ca_bundle: Path | None = None
    deadline: float | None = None
    # Full jitter: the wait before try n+1 is uniform in [0, min(cap, first * 2**(n-1))].
    backoff_first: float = 0.5
    backoff_cap: float = 4.0
    proxy: str | None = None  # checked by policy.check_proxy_url


class RetryableError(Exception):
    """A failed try worth another one."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class PermanentError(Exception):
    """An answer another try would not change."""

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


class Throttle:
    """At most ``limit`` requests in flight; a ``Retry-After`` holds back every new one.

    A request waits out the pause after taking its slot, so that one queued for a slot
    while the pause began cannot slip past it.
    """

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._resume_at = 0.0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            # A loop, not one sleep: another 429 may extend the pause meanwhile.
            while (pause := self._resume_at - time.monotonic()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(pause)
            yield

    def pause(self, seconds: float) -> None:
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)  # inf for thousands of digits, capped by the caller
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class NgcClient:
    """Key validation, catalog pages and per-model details, each retried.

    ``throttle`` may be shared with another client (the EU vantage); ``proxy`` overrides
    ``settings.proxy``.
    """

    def __init__(
        self,
        settings: ClientSettings,
        key: ApiKey | None,
        *,
        throttle: Throttle | None = None,
        log: Logger | None = None,
        proxy: str | None = None,
    ) -> None:
        self.settings = settings
        self._key = key
        self._echo = SecretEcho(key.reveal()) if key is not None else None
        self._throttle = throttle or Throttle(settings.concurrency)
        self._log = log
        self._proxy = proxy if proxy is not None else settings.proxy
        self._tls: ssl.SSLContext | None = None
        self._idle: list[httpx.AsyncClient] = []
        self._all: list[httpx.AsyncClient] = []
        self._backoff = wait_random_exponential(settings.backoff_first, settings.backoff_cap)

    async def __aenter__(self) -> NgcClient:
        self._tls = tls_for(self.settings, self._proxy)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        clients, self._idle, self._all = self._all, [], []
        for client in clients:
            await client.aclose()

    def _connection(self) -> httpx.AsyncClient:
        """A client of one keep-alive connection, for one request in flight at a time.

        One client per request in flight, not one client with a pool: httpcore's pool
        re-scans every connection for every queued request on every event
        (encode/httpcore#1035), which cost several times the CPU (docs/performance.md).
        """
        if self._idle:
            return self._idle.pop()  # the most recently used: its connection is warm
        from nimgen import __version__

        assert self._tls is not None, "use the client as an async context manager"
        proxy = None
        if self._proxy is not None:  # an https proxy is trusted like the API (--ca-bundle)
            https = self._proxy.startswith("https:")
            proxy = httpx.Proxy(self._proxy, ssl_context=self._tls if https else None)
        client = httpx.AsyncClient(
            base_url=self.settings.api_url,
            headers={
                "Accept": "application/json",
                "Accept-Encoding": "identity",
                "User-Agent": f"nimgen/{__version__}",
            },
            proxy=proxy,
            verify=self._tls,  # one SSL context for every client: its CAs loaded once
            trust_env=False,
            follow_redirects=False,
            timeout=self.settings.request_timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self._all.append(client)
        return client

    # -- the three endpoints (nim-contract.md, section 1) ------------------------------

    async def validate_key(self) -> None:
        """Raise ``KeyRejected`` unless NGC accepts the key."""
        if self._key is None:
            raise BadInput("no NGC API key given")
        try:
            await self.request(
                "POST",
                "/v3/keys/get-caller-info",
                authorized=True,
                form={"credentials": self._key.reveal()},
                body_is_used=False,
            )
        except RequestFailed as exc:
            if exc.status == 407:  # a proxy's answer, not NGC's: the key was never checked
                raise RunFailed(
                    f"the proxy refused the request ({exc.reason}); check its credentials"
                ) from None
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                raise KeyRejected(
                    f"NGC rejected the API key ({exc.reason}); check that it is a valid, "
                    "unexpired personal key"
                ) from None
            raise RunFailed(f"could not validate the API key: {exc.reason}") from None

    async def catalog_page(self, page: int) -> Answer:
        query = json.dumps(
            {"query": f"orgName:{CATALOG_ORG}", "page": page, "pageSize": self.settings.page_size},
            separators=(",", ":"),
        )
        return await self.request("GET", f"/v2/search/catalog/resources/CONTAINER?q={quote(query)}")

    async def model_details(self, entry: CatalogEntry, *, eu_probe: bool = False) -> Answer:
        parts = [entry.org, *([entry.team] if entry.team else []), entry.name]
        org, *team, name = (quote(part, safe="") for part in parts)
        path = f"/v2/org/{org}" + "".join(f"/team/{t}" for t in team) + f"/repos/{name}"
        finals = frozenset({451}) if eu_probe else frozenset()
        return await self.request(
            "GET", f"{path}?resolve-labels=true", authorized=True, final_statuses=finals
        )

    # -- one request, retried --------------------------------------------------------

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
        """Send ``target`` (path and query) until it gives a usable answer: 200 with a JSON
        body, or a status in ``final_statuses``. Raises ``RequestFailed`` once retries are
        spent or the answer is final. ``body_is_used=False`` (nimgen reads nothing from the
        answer) skips the echo check."""
        headers = {}
        if authorized and self._key is not None:
            headers["Authorization"] = f"Bearer {self._key.reveal()}"
        tries, budget = self.settings.max_attempts, self.settings.retry_budget
        retrying = AsyncRetrying(
            stop=stop_after_attempt(tries) | stop_after_delay(budget),
            wait=self._wait,
            retry=retry_if_exception_type(RetryableError),
            reraise=True,
        )
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    async with self._throttle.slot():
                        status, body = await self._try(
                            method, target, headers, form, final_statuses, body_is_used
                        )
                    return Answer(status, body, attempts)
        except RetryableError as exc:
            plural = "s" if attempts != 1 else ""
            reason = f"{exc.reason} (gave up after {attempts} attempt{plural})"
            raise RequestFailed(reason, attempts, exc.status) from None
        except PermanentError as exc:
            raise RequestFailed(exc.reason, attempts, exc.status) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        """The server's ``Retry-After`` (up to ``MAX_RETRY_AFTER``), else full jitter."""
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, RetryableError) and failure.retry_after is not None:
            return min(failure.retry_after, MAX_RETRY_AFTER)
        return float(self._backoff(state))

    async def _try(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        form: Mapping[str, str] | None,
        final_statuses: frozenset[int],
        body_is_used: bool,
    ) -> tuple[int, Any]:
        timeout = self.settings.request_timeout
        started = time.monotonic()
        shown: int | str = "-"
        http = self._connection()
        try:
            # One bound for the whole try (httpx's timeouts bound each read, not a drip).
            async with (
                asyncio.timeout(timeout),
                http.stream(method, target, headers=headers, data=form) as response,
            ):
                shown = response.status_code
                body = await self._read(response) if response.status_code == 200 else b""
        except (TimeoutError, httpx.TimeoutException):
            shown = "timeout"
            raise RetryableError(f"no answer within --request-timeout {timeout:g}s") from None
        except httpx.TransportError as exc:
            shown = "error"
            tls = tls_failure(exc)
            if tls is not None:  # another try meets the same certificate
                raise PermanentError(
                    f"TLS certificate verification failed ({tls}); if a proxy re-signs "
                    "TLS traffic, pass its CA certificate with --ca-bundle PATH"
                ) from None
            text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            raise RetryableError(f"connection failed: {redact(text)}") from None
        finally:
            self._idle.append(http)
            if self._log is not None:
                elapsed = time.monotonic() - started
                line = f"{method} {self.settings.api_url}{target} {shown} {elapsed:.3f}s"
                self._log(redact(line))
        return self._interpret(response, body, final_statuses, body_is_used)

    async def _read(self, response: httpx.Response) -> bytes:
        """The body as sent, at most ``max_response_bytes`` of it."""
        if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
            raise PermanentError(
                "answer refused: it is compressed (Content-Encoding) although nimgen asks "
                "for uncompressed answers; it is never inflated"
            )
        cap = self.settings.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and (len(declared) > 12 or int(declared) > cap):
            size = declared if len(declared) <= 12 else f"{len(declared)}-digit number of"
            raise PermanentError(f"answer of {size} bytes refused (limit {cap} bytes)")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > cap:
                raise PermanentError(f"answer larger than {cap} bytes refused")
            chunks.append(chunk)
        return b"".join(chunks)

    def _interpret(
        self,
        response: httpx.Response,
        body: bytes,
        final_statuses: frozenset[int],
        body_is_used: bool,
    ) -> tuple[int, Any]:
        status = response.status_code
        if status in final_statuses:
            return status, None
        reason = f"HTTP {status} {response.reason_phrase}".rstrip()
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None:  # every new request waits too, not only this one
                self._throttle.pause(min(retry_after, MAX_RETRY_AFTER))
            raise RetryableError(reason, status=429, retry_after=retry_after)
        if status >= 500:
            raise RetryableError(reason, status=status)
        if status != 200:
            raise PermanentError(reason, status=status)
        content_type = response.headers.get("content-type", "")
        if "json" not in content_type.lower():
            kind = content_type.split(";")[0].strip() or "no content type"
            raise RetryableError(f"HTTP 200 with a non-JSON body ({kind})", status=200)
        try:
            parsed = json.loads(body)
        except RecursionError:
            raise PermanentError("answer nested too deeply to be read: refused") from None
        except ValueError:  # UnicodeDecodeError too
            raise RetryableError(
                "HTTP 200 with a truncated or invalid JSON body", status=200
            ) from None
        if body_is_used and self._echo is not None and self._echo.found_in(body, parsed):
            raise PermanentError(ECHOED_KEY, status=200)
        return status, parsed
