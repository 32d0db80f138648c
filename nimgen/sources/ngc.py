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
from nimgen.catalog import CatalogFacts, EuStatus, ModelRecord, SnapshotModel, configmap_key_problem
from nimgen.errors import BadInput, KeyRejected, RunFailed
from nimgen.selection import Selection
from nimgen.sources import CatalogEntry, Collection, Logger, ModelFailure, ProgressHook
from nimgen.sources.limiter import AdaptiveLimiter
from nimgen.tags import canonical_tags

if TYPE_CHECKING:
    import httpx

DEFAULT_API_URL = "https://api.ngc.nvidia.com"
CATALOG_ORG = "nim"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_RETRY_AFTER = 60.0
_LOOPBACK_HOSTS = ("localhost", "::1", "[::1]")


def check_api_url(url: str) -> str:
    """``url`` without a trailing slash; plain http only to loopback hosts."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"--ngc-api-url {url!r} is not an http(s) URL")
    host = parts.hostname
    if parts.scheme == "http" and not (host in _LOOPBACK_HOSTS or host.startswith("127.")):
        raise BadInput(
            f"--ngc-api-url {url!r} uses plain http to a non-loopback host; "
            "the key would travel unencrypted: use https"
        )
    if parts.username or parts.password:
        raise BadInput("--ngc-api-url must not carry credentials")
    return url.rstrip("/")


@dataclass(frozen=True)
class ClientSettings:
    api_url: str = DEFAULT_API_URL
    concurrency: int = 32
    request_timeout: float = 30.0
    max_attempts: int = 6
    # Total time one request may spend across its attempts and waits.
    retry_budget: float = 120.0
    page_size: int = 100
    max_response_bytes: int = MAX_RESPONSE_BYTES
    ca_bundle: Path | None = None
    deadline: float | None = None
    # Backoff between attempts: full jitter over base * 2**attempt, capped.
    backoff_base: float = 0.25
    backoff_cap: float = 8.0


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
            import ssl

            verify = ssl.create_default_context(cafile=str(self.settings.ca_bundle))
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
            self._limiter.on_throttled()
            retry_after = parse_retry_after(response.headers.get("retry-after"))
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
                invalid.append(ModelFailure(label, f"catalog entry: {_validation_reason(exc)}"))
                continue
            entry = _entry_from(resource)
            if entry is None:
                invalid.append(
                    ModelFailure(
                        resource.name,
                        f"catalog entry: resourceId {resource.resourceId!r} is not org/name "
                        "or org/team/name",
                        resource.resourceId,
                    )
                )
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
    entries: dict[str, CatalogEntry]
    records: dict[str, SnapshotModel]
    eu: dict[str, EuStatus]
    eu_attempts: dict[str, int]
    failures: list[ModelFailure]
    no_tag: list[str]
    skipped: int
    reused: int
    pending: set[asyncio.Task[None]]


async def collect_catalog(
    client: NgcClient,
    options: CollectOptions,
    progress: ProgressHook,
    *,
    validate_key: bool = True,
) -> tuple[Collection, dict[str, EuStatus], dict[str, int]]:
    """Discover the catalog and fetch every selected model's details concurrently.

    Returns the collection plus, when probing, the EU status and attempt count per
    resourceId.
    """
    state = _RunState({}, {}, {}, {}, [], [], 0, 0, set())
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
        page0 = _parse_or_fail(first.body, 0)
        progress.start(None)
        announced = _PageTotals(page0.page_total, page0.result_total)
        _take_page(page0, state, client, options, progress)
        page_tasks = {
            page: asyncio.create_task(_fetch_page(client, page))
            for page in range(1, page0.page_total)
        }
        while page_tasks:
            done, _ = await asyncio.wait(page_tasks.values(), return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                page = next(p for p, t in page_tasks.items() if t is task)
                del page_tasks[page]
                parsed = task.result()
                if parsed.page_total > announced.page_total:
                    # The catalog grew while we read it: read the new pages too.
                    for extra in range(announced.page_total, parsed.page_total):
                        page_tasks[extra] = asyncio.create_task(_fetch_page(client, extra))
                    announced.page_total = parsed.page_total
                announced.result_total = max(announced.result_total, parsed.result_total)
                _take_page(parsed, state, client, options, progress)
        while state.pending:
            await asyncio.wait(set(state.pending))
        return announced.result_total

    try:
        if deadline is not None:
            async with asyncio.timeout(deadline):
                result_total = await run()
        else:
            result_total = await run()
    except TimeoutError:
        unfinished = sorted(
            e.name
            for rid, e in state.entries.items()
            if rid not in state.records and not any(f.resource_id == rid for f in state.failures)
        )
        raise RunFailed(
            f"the run did not finish within --deadline {deadline:g}s; "
            f"{len(unfinished)} model(s) unfinished",
            details=tuple(unfinished),
        ) from None
    finally:
        for task in state.pending:
            task.cancel()
        progress.stop()

    discovered = len(state.entries) + len(state.no_tag)
    seen = discovered + sum(1 for f in state.failures if not f.resource_id)
    if seen < result_total:
        raise RunFailed(
            f"the catalog announced {result_total} resources but only {seen} distinct ones "
            "could be read (it may have changed while being paged); run again"
        )
    models = tuple(state.records[rid] for rid in sorted(state.records))
    if options.eu_client is not None:
        models = tuple(
            m.model_copy(update={"eu": state.eu.get(m.catalog.resourceId)}) for m in models
        )
    collection = Collection(
        models=models,
        discovered=discovered,
        no_tag=tuple(sorted(state.no_tag)),
        failures=tuple(sorted(state.failures, key=lambda f: (f.name, f.resource_id))),
        skipped_by_selection=state.skipped,
        reused=state.reused,
        origin=client.settings.api_url,
        fetched_at=started_at,
    )
    return collection, dict(state.eu), dict(state.eu_attempts)


@dataclass
class _PageTotals:
    page_total: int
    result_total: int


def _parse_or_fail(body: Any, page: int) -> ParsedPage:
    try:
        return parse_catalog_page(body, page)
    except Transient as exc:
        raise RunFailed(exc.reason) from None


async def _fetch_page(client: NgcClient, page: int) -> ParsedPage:
    # A malformed page is retried like a failed request, a few times.
    for attempt in range(3):
        try:
            answer = await client.catalog_page(page)
        except RequestFailed as exc:
            raise RunFailed(f"could not read catalog page {page}: {exc.reason}") from None
        try:
            return parse_catalog_page(answer.body, page)
        except Transient as exc:
            if attempt == 2:
                raise RunFailed(exc.reason) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _take_page(
    page: ParsedPage,
    state: _RunState,
    client: NgcClient,
    options: CollectOptions,
    progress: ProgressHook,
) -> None:
    state.failures.extend(page.invalid)
    new: list[CatalogEntry] = []
    for entry in page.entries:
        if entry.resource_id in state.entries or entry.name in state.no_tag:
            continue
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
            progress.advance(entry.name)
            continue
        task = asyncio.create_task(_run_jobs(entry, jobs, progress))
        state.pending.add(task)
        task.add_done_callback(state.pending.discard)


async def _run_jobs(
    entry: CatalogEntry, jobs: list[Callable[[], Awaitable[None]]], progress: ProgressHook
) -> None:
    await asyncio.gather(*(job() for job in jobs))
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
        state.records[entry.resource_id] = SnapshotModel(record=record, catalog=facts_of(entry))

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
