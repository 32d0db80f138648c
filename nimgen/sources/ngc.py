"""The live NGC source: catalog discovery, key validation and per-model details.

One pooled ``httpx.AsyncClient`` (keep-alive, HTTP/2 where offered) serves the
whole run. Every request goes through the adaptive limiter and a tenacity retry
loop: 429 (honouring ``Retry-After``), 5xx, timeouts, connection errors and
unparseable bodies are retried with jittered backoff, bounded in attempts and
time; other answers are final. Pages after the first are fetched concurrently,
and per-model calls start as soon as the page naming the model arrives.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from nimgen.apikey import ApiKey, redact
from nimgen.catalog import (
    CatalogFacts,
    EuStatus,
    ImageDigest,
    ModelRecord,
    SnapshotModel,
    configmap_key_problem,
)
from nimgen.errors import BadInput, KeyRejected, RunFailed
from nimgen.selection import Selection
from nimgen.sources import CatalogEntry, Collection, Logger, ModelFailure, ProgressHook
from nimgen.sources.limiter import AdaptiveLimiter
from nimgen.tags import canonical_tags

if TYPE_CHECKING:
    import ssl

    import httpx

DEFAULT_API_URL = "https://api.ngc.nvidia.com"
CATALOG_ORG = "nim"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_RETRY_AFTER = 60.0


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1), nothing else.

    A name such as ``127.0.0.1.example.com`` is not loopback: it resolves wherever DNS says.
    """
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(url: str) -> str:
    """``url`` without a trailing slash; plain http only to loopback hosts.

    Error messages never repeat credentials found in the URL.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        has_credentials = "@" in parts.netloc
    except ValueError:
        raise BadInput("--ngc-api-url is not a valid URL") from None
    if has_credentials:
        raise BadInput("--ngc-api-url must not carry credentials (user:password@)")
    if parts.scheme not in ("http", "https") or not host:
        raise BadInput(f"--ngc-api-url {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise BadInput(
            f"--ngc-api-url {url!r} uses plain http to a non-loopback host; "
            "the key would travel unencrypted: use https"
        )
    return url.rstrip("/")


def tls_context(ca_bundle: Path) -> ssl.SSLContext:
    """A verifying TLS context trusting the usual CAs plus those in ``ca_bundle`` (PEM).

    Verification stays on: hostname checks and CERT_REQUIRED, as httpx's default.
    Raises ``BadInput`` when the bundle cannot be read or holds no certificate.
    """
    import ssl

    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    try:
        context.load_verify_locations(cafile=str(ca_bundle))
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        if isinstance(exc, ssl.SSLError):
            reason = "no certificate found" if "NO_CERTIFICATE" in str(exc) else str(exc.reason)
        else:
            reason = getattr(exc, "strerror", None) or str(exc)
        raise BadInput(
            f"--ca-bundle {ca_bundle} is not a readable PEM file of CA certificates ({reason})"
        ) from None
    return context


@dataclass(frozen=True)
class ClientSettings:
    api_url: str = DEFAULT_API_URL
    concurrency: int = 32
    request_timeout: float = 30.0
    # 8 tries ride out a 20 % error rate: a model then fails about once in 690 runs of
    # 186 models (0.23**8 per model), where 6 tries would fail one run in 36.
    max_attempts: int = 8
    # Total time one request may spend across its attempts and waits.
    retry_budget: float = 120.0
    page_size: int = 100
    max_response_bytes: int = MAX_RESPONSE_BYTES
    ca_bundle: Path | None = None
    deadline: float | None = None
    # Backoff between attempts: full jitter over base * 2**attempt, capped.
    backoff_base: float = 0.25
    backoff_cap: float = 4.0


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


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class NgcClient:
    """Requests to NGC with retries, bounded by an adaptive limiter shared across the run."""

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
        self._limiter = limiter
        self._log = log
        self._proxy = proxy
        self._client: httpx.AsyncClient | None = None
        self.requests_made = 0

    async def __aenter__(self) -> NgcClient:
        import httpx

        verify: Any = True
        if self.settings.ca_bundle is not None:
            verify = tls_context(self.settings.ca_bundle)
        pool = max(1, self.settings.concurrency)
        self._client = httpx.AsyncClient(
            http2=True,
            verify=verify,
            proxy=self._proxy,
            timeout=httpx.Timeout(self.settings.request_timeout),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            headers={"Accept": "application/json", "User-Agent": _user_agent()},
            follow_redirects=False,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    # -- one request, retried ------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        authorized: bool = False,
        form: Mapping[str, str] | None = None,
        final_statuses: frozenset[int] = frozenset(),
    ) -> Answer:
        """Send a request until it yields a usable answer.

        200 with a JSON body, and any status in ``final_statuses``, are answers.
        Raises ``RequestFailed`` once retries are exhausted or the answer is final.
        """
        from tenacity import (
            AsyncRetrying,
            RetryCallState,
            retry_if_exception_type,
            stop_after_attempt,
            stop_after_delay,
        )

        settings = self.settings

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, Transient) and exc.retry_after is not None:
                return min(exc.retry_after, MAX_RETRY_AFTER)
            ceiling = min(settings.backoff_cap, settings.backoff_base * 2**state.attempt_number)
            import random

            return random.uniform(0, ceiling)

        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(Transient),
                stop=stop_after_attempt(settings.max_attempts)
                | stop_after_delay(settings.retry_budget),
                wait=wait,
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    async with self._limiter:
                        answer = await self._once(method, url, authorized, form, final_statuses)
                    self._limiter.on_success()
                    return Answer(answer[0], answer[1], attempts)
        except Transient as exc:
            raise RequestFailed(
                f"{exc.reason} (gave up after {attempts} attempt{'s' if attempts != 1 else ''})",
                attempts,
                exc.status,
            ) from None
        except Final as exc:
            raise RequestFailed(exc.reason, attempts, exc.status) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self,
        method: str,
        url: str,
        authorized: bool,
        form: Mapping[str, str] | None,
        final_statuses: frozenset[int],
    ) -> tuple[int, Any]:
        import httpx

        assert self._client is not None, "use NgcClient as an async context manager"
        headers = {}
        if authorized and self._key is not None:
            headers["Authorization"] = f"Bearer {self._key.reveal()}"
        started = time.monotonic()
        status: int | str = "-"
        self.requests_made += 1
        try:
            async with asyncio.timeout(self.settings.request_timeout):
                request = self._client.build_request(method, url, headers=headers, data=form)
                response = await self._client.send(request, stream=True)
                try:
                    status = response.status_code
                    body = await self._read_capped(response)
                finally:
                    await response.aclose()
        except TimeoutError:
            status = "timeout"
            raise Transient(
                f"no answer within --request-timeout {self.settings.request_timeout:g}s"
            ) from None
        except httpx.TimeoutException:
            status = "timeout"
            raise Transient(
                f"no answer within --request-timeout {self.settings.request_timeout:g}s"
            ) from None
        except httpx.TransportError as exc:
            status = "error"
            tls = _tls_failure(exc)
            if tls is not None:
                # Another try meets the same certificate: final, and said plainly.
                raise Final(
                    f"TLS certificate verification failed ({tls}); if a proxy re-signs "
                    "TLS traffic, pass its CA certificate with --ca-bundle PATH"
                ) from None
            raise Transient(f"connection failed: {_describe(exc)}") from None
        finally:
            if self._log is not None:
                elapsed = time.monotonic() - started
                self._log(redact(f"{method} {url} {status} {elapsed:.3f}s"))
        return self._interpret(response, body, final_statuses)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self.settings.max_response_bytes
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise Final(f"answer of {int(declared)} bytes refused (limit {cap} bytes)")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise Final(f"answer larger than {cap} bytes refused")
            chunks.append(chunk)
        return b"".join(chunks)

    def _interpret(
        self, response: httpx.Response, body: bytes, final_statuses: frozenset[int]
    ) -> tuple[int, Any]:
        status = response.status_code
        if status in final_statuses:
            return status, None
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            # Halves concurrency once per burst and pauses new requests for Retry-After.
            self._limiter.on_throttled(
                min(retry_after, MAX_RETRY_AFTER) if retry_after is not None else None
            )
            raise Transient("HTTP 429 Too Many Requests", status=429, retry_after=retry_after)
        if status >= 500:
            raise Transient(f"HTTP {status} {response.reason_phrase}".rstrip(), status=status)
        if status != 200:
            raise Final(f"HTTP {status} {response.reason_phrase}".rstrip(), status=status)
        content_type = response.headers.get("content-type", "")
        if "json" not in content_type.lower():
            kind = content_type.split(";")[0].strip() or "no content type"
            raise Transient(f"HTTP 200 with a non-JSON body ({kind})", status=200)
        try:
            return status, json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise Transient("HTTP 200 with a truncated or invalid JSON body", status=200) from None

    # -- the three endpoints -----------------------------------------------

    async def validate_key(self) -> None:
        """Raise ``KeyRejected`` unless NGC accepts the key."""
        if self._key is None:
            raise BadInput("no NGC API key given")
        url = f"{self.settings.api_url}/v3/keys/get-caller-info"
        try:
            await self.request(
                "POST",
                url,
                authorized=True,
                form={"credentials": self._key.reveal()},
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
        url = f"{self.settings.api_url}/v2/search/catalog/resources/CONTAINER?q={quote(query)}"
        return await self.request("GET", url)

    def model_url(self, entry: CatalogEntry) -> str:
        org = quote(entry.org, safe="")
        name = quote(entry.name, safe="")
        if entry.team:
            team = quote(entry.team, safe="")
            path = f"/v2/org/{org}/team/{team}/repos/{name}"
        else:
            path = f"/v2/org/{org}/repos/{name}"
        return f"{self.settings.api_url}{path}?resolve-labels=true"

    async def model_details(self, entry: CatalogEntry, *, eu_probe: bool = False) -> Answer:
        finals = frozenset({451}) if eu_probe else frozenset()
        return await self.request(
            "GET", self.model_url(entry), authorized=True, final_statuses=finals
        )


def _tls_failure(exc: BaseException) -> str | None:
    """The certificate problem behind ``exc``, if a failed TLS verification caused it."""
    import ssl

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return redact(current.verify_message or "certificate verify failed")
        if isinstance(current, ssl.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(current):
            return "certificate verify failed"
        current = current.__cause__ or current.__context__
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "certificate verify failed"
    return None


def _describe(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return redact(text.splitlines()[0])


def _user_agent() -> str:
    from nimgen import __version__

    return f"nimgen/{__version__}"


# -- answers -------------------------------------------------------------------


class _Attribute(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: StrictStr
    value: StrictStr | None = None


class _Resource(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resourceId: StrictStr
    name: StrictStr
    displayName: StrictStr | None = None
    dateModified: StrictStr | None = None
    attributes: list[_Attribute] = Field(default_factory=list)


class _Group(BaseModel):
    model_config = ConfigDict(extra="ignore")
    groupValue: StrictStr
    resources: list[Any] = Field(default_factory=list)


class _Params(BaseModel):
    model_config = ConfigDict(extra="ignore")
    page: int


class _CatalogPage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resultTotal: int = Field(ge=0)
    resultPageTotal: int = Field(ge=0)
    params: _Params
    results: list[_Group] = Field(default_factory=list)


class _RepoAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: StrictStr
    displayName: StrictStr
    shortDescription: StrictStr
    namespace: StrictStr = Field(min_length=1)
    tags: list[StrictStr] = Field(min_length=1)
    latestTag: StrictStr = Field(min_length=1)
    updatedDate: StrictStr


def _validation_reason(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "answer"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


@dataclass(frozen=True)
class ParsedPage:
    page: int
    page_total: int
    result_total: int
    entries: tuple[CatalogEntry, ...]
    invalid: tuple[ModelFailure, ...]


def parse_catalog_page(body: Any, page: int) -> ParsedPage:
    try:
        parsed = _CatalogPage.model_validate(body)
    except ValidationError as exc:
        raise Transient(f"catalog page {page} is malformed: {_validation_reason(exc)}") from None
    entries: list[CatalogEntry] = []
    invalid: list[ModelFailure] = []
    for group in parsed.results:
        if group.groupValue != "CONTAINER":
            continue
        for index, raw in enumerate(group.resources):
            try:
                resource = _Resource.model_validate(raw)
            except ValidationError as exc:
                label = _label_of(raw) or f"catalog page {page} item {index}"
                raw_id = raw.get("resourceId") if isinstance(raw, dict) else None
                invalid.append(
                    ModelFailure(
                        label,
                        f"catalog entry: {_validation_reason(exc)}",
                        raw_id if isinstance(raw_id, str) else "",
                    )
                )
                continue
            entry = _entry_from(resource)
            name_problem = configmap_key_problem(resource.name)
            if entry is None:
                reason = name_problem or (
                    f"resourceId {resource.resourceId!r} is not org/name or org/team/name"
                )
                invalid.append(
                    ModelFailure(resource.name, f"catalog entry: {reason}", resource.resourceId)
                )
            elif name_problem is not None and entry.latest_tag is not None:
                # Refused before any request: it could never be a ConfigMap key.
                invalid.append(ModelFailure(resource.name, name_problem, resource.resourceId))
            else:
                entries.append(entry)
    return ParsedPage(
        page, parsed.resultPageTotal, parsed.resultTotal, tuple(entries), tuple(invalid)
    )


def _label_of(raw: Any) -> str | None:
    if isinstance(raw, dict):
        for key in ("name", "resourceId"):
            value = raw.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _entry_from(resource: _Resource) -> CatalogEntry | None:
    parts = resource.resourceId.split("/")
    if len(parts) == 3:
        org, team, name = parts
    elif len(parts) == 2:
        org, name = parts
        team = None
    else:
        return None
    if not all(parts):
        return None
    attributes = {a.key: a.value for a in resource.attributes}
    return CatalogEntry(
        resource_id=resource.resourceId,
        org=org,
        team=team,
        name=name,
        display_name=resource.displayName or resource.name,
        date_modified=resource.dateModified,
        latest_tag=attributes.get("latestTag") or None,
        latest_tag_pushed_date=attributes.get("latestTagPushedDate"),
    )


def facts_of(entry: CatalogEntry) -> CatalogFacts:
    return CatalogFacts(
        resourceId=entry.resource_id,
        dateModified=entry.date_modified,
        latestTag=entry.latest_tag,
        latestTagPushedDate=entry.latest_tag_pushed_date,
    )


def record_from_answer(body: Any, entry: CatalogEntry) -> ModelRecord:
    """The contract's record from a per-model answer; raises ``Final`` when it does not fit."""
    try:
        answer = _RepoAnswer.model_validate(body)
    except ValidationError as exc:
        raise Final(f"answer failed validation: {_validation_reason(exc)}") from None
    problem = configmap_key_problem(answer.name)
    if problem is not None:
        raise Final(problem)
    tags = canonical_tags(answer.tags)
    if answer.latestTag not in tags:
        raise Final(f"latestTag {answer.latestTag!r} is not among the model's tags")
    return ModelRecord(
        name=answer.name,
        displayName=answer.displayName,
        shortDescription=answer.shortDescription,
        namespace=answer.namespace,
        tags=tags,
        latestTag=answer.latestTag,
        updatedDate=answer.updatedDate,
        euRestricted=False,
    )


def digests_from_answer(body: Any, latest_tag: str) -> tuple[ImageDigest, ...]:
    """The latest tag's image digests from a per-model answer, one per platform.

    NGC lists them in ``latestArchitectureVariants`` (``architecture``, ``os``,
    ``digest``). Digests are extra facts, never a reason to fail a model: a
    malformed variant is skipped, and when two variants give different digests
    for the same platform none is recorded for the model (nothing is guessed).
    """
    variants = body.get("latestArchitectureVariants") if isinstance(body, dict) else None
    if not isinstance(variants, list):
        return ()
    found: dict[tuple[str, str], ImageDigest] = {}
    for variant in variants:
        if not isinstance(variant, dict):
            continue
        try:
            item = ImageDigest.model_validate(
                {
                    "tag": latest_tag,
                    "architecture": variant.get("architecture"),
                    "os": variant.get("os"),
                    "digest": variant.get("digest"),
                }
            )
        except ValidationError:
            continue
        platform = (item.os, item.architecture)
        if platform in found and found[platform].digest != item.digest:
            return ()
        found[platform] = item
    return tuple(found[p] for p in sorted(found))


def unchanged_since(entry: CatalogEntry, previous: SnapshotModel) -> bool:
    """True when the catalog says nothing about ``entry`` changed since ``previous``."""
    before = previous.catalog
    if before.dateModified is None and before.latestTagPushedDate is None:
        return False
    return (
        before.resourceId == entry.resource_id
        and before.latestTag == entry.latest_tag
        and before.dateModified == entry.date_modified
        and before.latestTagPushedDate == entry.latest_tag_pushed_date
    )


# -- the collector -----------------------------------------------------------


@dataclass(frozen=True)
class CollectOptions:
    selection: Selection = field(default_factory=Selection)
    fetch_details: bool = True
    # Reuse these records (by resourceId) when the catalog says they are unchanged.
    previous: Mapping[str, SnapshotModel] | None = None
    # Probe each model through this client too (an EU vantage), interleaved.
    eu_client: NgcClient | None = None


@dataclass
class _RunState:
    entries: dict[str, CatalogEntry] = field(default_factory=dict)
    records: dict[str, SnapshotModel] = field(default_factory=dict)
    eu: dict[str, EuStatus] = field(default_factory=dict)
    eu_attempts: dict[str, int] = field(default_factory=dict)
    failures: list[ModelFailure] = field(default_factory=list)
    no_tag: list[str] = field(default_factory=list)
    skipped: int = 0
    reused: int = 0
    pending: set[asyncio.Task[None]] = field(default_factory=set)
    # Every distinct resource the catalog listed (valid or not), and invalid ones without id.
    seen_ids: set[str] = field(default_factory=set)
    unidentified: int = 0
    # Selected models (resourceId -> name) and those whose calls have all finished.
    selected: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    pages_announced: int = 0
    pages_read: set[int] = field(default_factory=set)
    page_tasks: dict[int, asyncio.Task[ParsedPage]] = field(default_factory=dict)


async def collect_catalog(
    client: NgcClient,
    options: CollectOptions,
    progress: ProgressHook,
    *,
    validate_key: bool = True,
) -> tuple[Collection, dict[str, EuStatus], dict[str, int]]:
    """Discover the catalog and fetch every selected model's details concurrently.

    Returns the collection plus, when probing, the EU status and attempt count per
    resourceId. With ``ClientSettings.deadline`` the whole collection stops when the
    deadline passes and fails naming every model not finished by then.
    """
    state = _RunState()
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    deadline = client.settings.deadline

    async def run() -> int:
        key_task = asyncio.create_task(client.validate_key()) if validate_key else None
        try:
            try:
                first = await client.catalog_page(0)
            except RequestFailed as exc:
                if key_task is not None:
                    await key_task
                raise RunFailed(f"could not read the NGC catalog: {exc.reason}") from None
            if key_task is not None:
                await key_task
        finally:
            if key_task is not None and not key_task.done():
                key_task.cancel()
        try:
            page0 = parse_catalog_page(first.body, 0)
        except Transient:
            # A malformed first page is read again, like any other page.
            page0 = await _fetch_page(client, 0, tries=2)
        page0 = await _reread_if_empty(client, page0)
        progress.start(None)
        result_total = page0.result_total
        state.pages_announced = page0.page_total
        _take_page(page0, state, client, options, progress)
        page_tasks = state.page_tasks
        for page in range(1, page0.page_total):
            page_tasks[page] = asyncio.create_task(_fetch_page(client, page))
        while page_tasks:
            done, _ = await asyncio.wait(page_tasks.values(), return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                page = next(p for p, t in page_tasks.items() if t is task)
                del page_tasks[page]
                parsed = task.result()
                if parsed.page_total > state.pages_announced:
                    # The catalog grew while we read it: read the new pages too.
                    for extra in range(state.pages_announced, parsed.page_total):
                        page_tasks[extra] = asyncio.create_task(_fetch_page(client, extra))
                    state.pages_announced = parsed.page_total
                result_total = max(result_total, parsed.result_total)
                _take_page(parsed, state, client, options, progress)
        while state.pending:
            await asyncio.wait(set(state.pending))
        return result_total

    try:
        if deadline is not None:
            async with asyncio.timeout(deadline):
                result_total = await run()
        else:
            result_total = await run()
    except TimeoutError:
        assert deadline is not None
        raise _deadline_failure(state, deadline) from None
    finally:
        for task in (*state.pending, *state.page_tasks.values()):
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved: a failure already reported is not logged again
        progress.stop()

    if options.fetch_details:
        # Lose nothing: every selected model ends as a record or a named failure.
        failed_ids = {f.resource_id for f in state.failures}
        for rid, name in sorted(state.selected.items()):
            if rid not in state.records and rid not in failed_ids:
                state.failures.append(ModelFailure(name, "no result was recorded", rid))
    seen = len(state.seen_ids) + state.unidentified
    if seen < result_total:
        raise RunFailed(
            f"the catalog announced {result_total} resources but only {seen} distinct ones "
            "could be read (it changed while being paged, or a page came back short); "
            "nothing was written: run again",
            details=tuple(f"catalog page {p}: not read" for p in _unread_pages(state)),
        )
    models = tuple(state.records[rid] for rid in sorted(state.records))
    if options.eu_client is not None:
        models = tuple(
            m.model_copy(update={"eu": state.eu.get(m.catalog.resourceId)}) for m in models
        )
    collection = Collection(
        models=models,
        discovered=seen,
        no_tag=tuple(sorted(state.no_tag)),
        failures=tuple(sorted(state.failures, key=lambda f: (f.name, f.resource_id))),
        skipped_by_selection=state.skipped,
        reused=state.reused,
        origin=client.settings.api_url,
        fetched_at=started_at,
    )
    return collection, dict(state.eu), dict(state.eu_attempts)


def _unread_pages(state: _RunState) -> list[int]:
    return [p for p in range(state.pages_announced) if p not in state.pages_read]


def _deadline_failure(state: _RunState, deadline: float) -> RunFailed:
    """The failure of a run cut by ``--deadline``: every unfinished model by name."""
    unfinished = sorted(name for rid, name in state.selected.items() if rid not in state.finished)
    details = [f"{name}: unfinished at the deadline" for name in unfinished]
    details += [f"{f.name}: {f.reason}" for f in sorted(state.failures, key=lambda f: f.name)]
    if not state.pages_read:
        what = "the NGC catalog could not be read in time (key check or first page pending)"
    else:
        unread = _unread_pages(state)
        what = f"{len(unfinished)} model(s) unfinished"
        if unread:
            what += f"; catalog page(s) {', '.join(map(str, unread))} not read"
    return RunFailed(
        f"the run did not finish within --deadline {deadline:g}s: {what}; nothing was written",
        details=tuple(details),
    )


async def _fetch_page(client: NgcClient, page: int, *, tries: int = 3) -> ParsedPage:
    # A malformed page is retried like a failed request, a few times.
    for attempt in range(tries):
        try:
            answer = await client.catalog_page(page)
        except RequestFailed as exc:
            raise RunFailed(f"could not read catalog page {page}: {exc.reason}") from None
        try:
            parsed = parse_catalog_page(answer.body, page)
        except Transient as exc:
            if attempt == tries - 1:
                raise RunFailed(exc.reason) from None
            continue
        return await _reread_if_empty(client, parsed)
    raise AssertionError("unreachable")  # pragma: no cover


async def _reread_if_empty(client: NgcClient, parsed: ParsedPage) -> ParsedPage:
    """Read a page once more when it lists nothing although the catalog says it should.

    A search index may answer a page empty for a moment; if the second read is
    empty too, the count check after paging fails the run instead of shipping short.
    """
    if parsed.entries or parsed.invalid or parsed.page >= parsed.page_total:
        return parsed
    try:
        answer = await client.catalog_page(parsed.page)
        again = parse_catalog_page(answer.body, parsed.page)
    except (RequestFailed, Transient):
        return parsed
    return again


def _take_page(
    page: ParsedPage,
    state: _RunState,
    client: NgcClient,
    options: CollectOptions,
    progress: ProgressHook,
) -> None:
    state.pages_read.add(page.page)
    for failure in page.invalid:
        if failure.resource_id:
            if failure.resource_id in state.seen_ids:
                continue  # listed again on another page
            state.seen_ids.add(failure.resource_id)
        else:
            state.unidentified += 1
        if options.selection.matches(failure.name):
            state.failures.append(failure)
        else:
            state.skipped += 1
    new: list[CatalogEntry] = []
    for entry in page.entries:
        if entry.resource_id in state.seen_ids:
            continue
        state.seen_ids.add(entry.resource_id)
        if entry.latest_tag is None:
            state.no_tag.append(entry.name)
            continue
        state.entries[entry.resource_id] = entry
        if not options.selection.matches(entry.name):
            state.skipped += 1
            continue
        new.append(entry)
    if not new:
        return
    progress.add_total(len(new))
    for entry in new:
        state.selected[entry.resource_id] = entry.name
        jobs: list[Callable[[], Awaitable[None]]] = []
        previous = options.previous.get(entry.resource_id) if options.previous else None
        if previous is not None and unchanged_since(entry, previous):
            state.records[entry.resource_id] = previous.model_copy(update={"eu": None})
            state.reused += 1
        elif options.fetch_details:
            jobs.append(_details_job(entry, state, client))
        if options.eu_client is not None:
            jobs.append(_probe_job(entry, state, options.eu_client))
        if not jobs:
            state.finished.add(entry.resource_id)
            progress.advance(entry.name)
            continue
        task = asyncio.create_task(_run_jobs(entry, jobs, state, progress))
        state.pending.add(task)
        task.add_done_callback(state.pending.discard)


async def _run_jobs(
    entry: CatalogEntry,
    jobs: list[Callable[[], Awaitable[None]]],
    state: _RunState,
    progress: ProgressHook,
) -> None:
    outcomes = await asyncio.gather(*(job() for job in jobs), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        if isinstance(outcome, BaseException):  # a bug must not lose the model: name it
            if not isinstance(outcome, Exception):
                raise outcome
            text = f"internal error: {type(outcome).__name__}: {outcome}".splitlines()[0]
            state.failures.append(ModelFailure(entry.name, redact(text), entry.resource_id))
    state.finished.add(entry.resource_id)
    progress.advance(entry.name)


def _details_job(
    entry: CatalogEntry, state: _RunState, client: NgcClient
) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        try:
            answer = await client.model_details(entry)
            record = record_from_answer(answer.body, entry)
        except RequestFailed as exc:
            state.failures.append(ModelFailure(entry.name, exc.reason, entry.resource_id))
            return
        except Final as exc:
            state.failures.append(ModelFailure(entry.name, exc.reason, entry.resource_id))
            return
        state.records[entry.resource_id] = SnapshotModel(
            record=record,
            catalog=facts_of(entry),
            digests=digests_from_answer(answer.body, record.latestTag),
        )

    return job


def _probe_job(
    entry: CatalogEntry, state: _RunState, eu_client: NgcClient
) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        try:
            answer = await eu_client.model_details(entry, eu_probe=True)
        except RequestFailed as exc:
            state.eu[entry.resource_id] = EuStatus(status="inconclusive", detail=exc.reason)
            state.eu_attempts[entry.resource_id] = exc.attempts
            return
        status = "restricted" if answer.status == 451 else "available"
        state.eu[entry.resource_id] = EuStatus(status=status)
        state.eu_attempts[entry.resource_id] = answer.attempts

    return job
