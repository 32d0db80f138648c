"""The NGC client: httpx sends, tenacity retries, and every answer is read without trust.

429 (its ``Retry-After`` holds back every new request too), 5xx, timeouts, failed
connections and unreadable bodies are retried with full jitter within ``max_attempts`` and
``retry_budget``; anything else is final. An answer must be uncompressed (never inflated),
at most ``max_response_bytes``, no redirect and free of the key. No *_proxy variable is read.
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
from typing import Any
from urllib.parse import quote

import httpx
import tenacity

from nimgen import __version__
from nimgen.apikey import ApiKey, redact
from nimgen.collection import CatalogEntry, Logger
from nimgen.errors import KeyRejected, RunFailed
from nimgen.ngc.echo import SecretEcho
from nimgen.ngc.policy import tls_failure, tls_for
from nimgen.ngc.settings import ClientSettings

MAX_RETRY_AFTER = 60.0
ECHOED_KEY = (
    "the answer contains the API key (or a piece of it): refused and not written; "
    "something between nimgen and NGC echoes requests"
)


class NgcError(Exception):
    """Why a try or a request failed: one line without secrets, and the HTTP status."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        attempts: int = 0,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.attempts = attempts
        self.retry_after = retry_after


class RetryableError(NgcError):
    """A failed try worth another one."""


class PermanentError(NgcError):
    """An answer another try would not change."""


class RequestFailed(NgcError):
    """The request failed for good, after ``attempts`` tries."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    attempts: int


class Throttle:
    """At most ``limit`` requests in flight; a ``Retry-After`` holds back every new one
    (waited out once a slot is taken, so that none queued for a slot slips past it)."""

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
        return float(value)  # inf for thousands of digits, capped where it is used
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    when = when.replace(tzinfo=when.tzinfo or UTC)
    return max(0.0, when.timestamp() - (datetime.now(UTC).timestamp() if now is None else now))


class NgcClient:
    """Key check, catalog pages and per-model details, each retried; ``throttle`` and ``tls``
    may be shared with the EU vantage's client. Each request in flight has an httpx client of
    one connection, not a slot in one pool, whose re-scans cost (encode/httpcore#1035)."""

    def __init__(
        self,
        settings: ClientSettings,
        key: ApiKey,
        *,
        throttle: Throttle | None = None,
        tls: ssl.SSLContext | None = None,
        log: Logger | None = None,
    ) -> None:
        self.settings = settings
        self._key = key
        self._echo = SecretEcho(key.reveal())
        self._throttle = throttle or Throttle(settings.concurrency)
        self._log = log
        self._tls = tls
        self._idle: list[httpx.AsyncClient] = []
        self._all: list[httpx.AsyncClient] = []
        self._backoff = tenacity.wait_random_exponential(
            settings.backoff_first, settings.backoff_cap
        )

    async def __aenter__(self) -> NgcClient:
        if self._tls is None:
            self._tls = tls_for(self.settings)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for client in self._all:
            await client.aclose()

    def _connection(self) -> httpx.AsyncClient:
        if self._idle:
            return self._idle.pop()  # the most recently used: its connection is warm
        assert self._tls is not None, "use the client as an async context manager"
        proxy = None
        if self.settings.proxy is not None:  # an https proxy is trusted like the API
            https = self.settings.proxy.startswith("https:")
            proxy = httpx.Proxy(self.settings.proxy, ssl_context=self._tls if https else None)
        client = httpx.AsyncClient(
            base_url=self.settings.api_url,
            headers={
                "Accept": "application/json",
                "Accept-Encoding": "identity",
                "User-Agent": f"nimgen/{__version__}",
            },
            proxy=proxy,
            verify=self._tls,
            trust_env=False,
            follow_redirects=False,
            timeout=self.settings.request_timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self._all.append(client)
        return client

    # -- the three endpoints (nim-contract.md, section 1)

    async def validate_key(self) -> None:
        """Raise ``KeyRejected`` unless NGC accepts the key."""
        form = {"credentials": self._key.reveal()}
        try:  # nimgen reads nothing from this answer: a key echoed in it is harmless
            await self.request(
                "POST", "/v3/keys/get-caller-info", authorized=True, form=form, echo_check=False
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
        size = self.settings.page_size
        query = json.dumps(
            {"query": "orgName:nim", "page": page, "pageSize": size}, separators=(",", ":")
        )
        return await self.request("GET", f"/v2/search/catalog/resources/CONTAINER?q={quote(query)}")

    async def model_details(self, entry: CatalogEntry, *, eu_probe: bool = False) -> Answer:
        parts = [entry.org, *([entry.team] if entry.team else []), entry.name]
        org, *team, name = (quote(part, safe="") for part in parts)
        path = f"/v2/org/{org}" + "".join(f"/team/{part}" for part in team) + f"/repos/{name}"
        finals = frozenset({451}) if eu_probe else frozenset()
        return await self.request(
            "GET", f"{path}?resolve-labels=true", authorized=True, final_statuses=finals
        )

    async def request(
        self,
        method: str,
        target: str,
        *,
        authorized: bool = False,
        form: Mapping[str, str] | None = None,
        final_statuses: frozenset[int] = frozenset(),
        echo_check: bool = True,
    ) -> Answer:
        """``target`` (path and query) sent until it answers 200 with a JSON body, or a
        status in ``final_statuses``; ``RequestFailed`` once retries are spent or final."""
        key = {"Authorization": f"Bearer {self._key.reveal()}"} if authorized else {}
        stop = tenacity.stop_after_attempt(self.settings.max_attempts)
        retrying = tenacity.AsyncRetrying(
            stop=stop | tenacity.stop_after_delay(self.settings.retry_budget),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(RetryableError),
            reraise=True,
        )
        tries = 0
        try:
            async for attempt in retrying:
                with attempt:
                    tries = attempt.retry_state.attempt_number
                    async with self._throttle.slot():  # a 429 pauses others before it ends
                        response, body = await self._try(method, target, key, form)
                        if response.status_code in final_statuses:
                            return Answer(response.status_code, None, tries)
                        return Answer(200, self._checked(response, body, echo_check), tries)
        except RetryableError as exc:
            reason = f"{exc.reason} (gave up after {tries} attempt{'s' if tries > 1 else ''})"
            raise RequestFailed(reason, status=exc.status, attempts=tries) from None
        except PermanentError as exc:
            raise RequestFailed(exc.reason, status=exc.status, attempts=tries) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """The server's ``Retry-After`` (up to ``MAX_RETRY_AFTER``), else full jitter."""
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, RetryableError) and failure.retry_after is not None:
            return min(failure.retry_after, MAX_RETRY_AFTER)
        return float(self._backoff(state))

    async def _try(
        self, method: str, target: str, headers: dict[str, str], form: Mapping[str, str] | None
    ) -> tuple[httpx.Response, bytes]:
        """One try: the answer's head, and its body when it is a 200 (else unread)."""
        timeout = self.settings.request_timeout
        started = time.monotonic()
        shown = "-"
        http = self._connection()
        try:
            # One bound for the whole try: httpx's bound each read, not a slow drip.
            async with (
                asyncio.timeout(timeout),
                http.stream(method, target, headers=headers, data=form) as response,
            ):
                shown = str(response.status_code)
                return response, await self._read(response) if response.is_success else b""
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
                self._log(
                    redact(f"{method} {self.settings.api_url}{target} {shown} {elapsed:.3f}s")
                )

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

    def _checked(self, response: httpx.Response, body: bytes, echo_check: bool) -> Any:
        """The parsed body of a usable answer, else ``RetryableError`` or ``PermanentError``."""
        status = response.status_code
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
            message = "HTTP 200 with a truncated or invalid JSON body"
            raise RetryableError(message, status=200) from None
        if echo_check and self._echo.found_in(parsed):
            raise PermanentError(ECHOED_KEY, status=200)
        return parsed
