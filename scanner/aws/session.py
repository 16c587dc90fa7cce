"""The AWS layer: one session, shared clients, per-account credentials, read-only guard.

Why shared clients: creating a botocore client costs milliseconds of CPU and an aiohttp
connector each; a 1,000-account scan would pay that per account and service and lose connection
reuse. botocore's signer signs a request with ``context['signing']['request_credentials']`` when
present, so ONE client per (service, region) serves every account: a ``before-parameter-build``
hook puts the current account's credentials (a context variable set by the orchestrator's
account scope) into each request's signing context. The clients themselves hold placeholder
credentials, and the hook refuses any call made outside an account scope, so a forgotten scope
is an error, never a silent read of the wrong account.

The same hook is the read-only guard: it refuses every operation that is not a read.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import cache
from typing import Any

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioCredentials, AioRefreshableCredentials
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession
from botocore.context import ClientContext, get_context
from botocore.exceptions import ProfileNotFound
from botocore.httpsession import create_urllib3_context, get_cert_path
from botocore.loaders import Loader, create_loader

from scanner import __version__
from scanner.aws.circuit import Circuits
from scanner.aws.errors import is_throttle, raise_classified
from scanner.aws.ratelimit import CallStats, RateLimiter
from scanner.aws.signing import sign_faster
from scanner.core.errors import AccessDenied, ReadOnlyViolation, ScopeError
from scanner.core.settings import AwsSettings
from scanner.core.timefmt import iso

# Prefixes of read operations, and the few non-prefixed operations a scan needs. Anything else
# is refused before it is signed.
READ_PREFIXES = ("List", "Get", "Describe", "Lookup")
READ_ALLOWLIST = frozenset({
    "iam:GenerateCredentialReport",  # only (re)builds the read-only report
    "sts:AssumeRole",
    "sts:GetCallerIdentity",
    # Athena root-usage queries: the query only reads the trail table; results land in the
    # configured output location, which the user chose for orgscan.
    "athena:StartQueryExecution",
    # CloudTrail Lake root-usage queries: a SELECT over the event data store; it changes
    # nothing, and without DeliveryS3Uri (orgscan never sets one) writes no results anywhere.
    "cloudtrail:StartQuery",
})

# Named like reads, but they mint credentials or hand out secrets: never sent by a scanner.
READ_DENYLIST = frozenset({
    "sts:GetSessionToken",
    "sts:GetFederationToken",
    "ec2:GetPasswordData",
})

# The label of calls made for the organization as a whole (see AccountScope.label).
ORG_LABEL = "organization"

# STS refuses role sessions shorter than this.
MIN_SESSION_SECONDS = 900


def is_read_operation(service: str, operation: str) -> bool:
    name = f"{service}:{operation}"
    if name in READ_DENYLIST:
        return False
    return operation.startswith(READ_PREFIXES) or name in READ_ALLOWLIST


@dataclass(frozen=True)
class AccountScope:
    """Whose credentials the shared clients sign with inside this scope."""

    account_id: str
    credentials: AioCredentials | AioRefreshableCredentials
    # Whom the calls are counted for: the organization-level work (walk, AssumeRole, org
    # facts) is kept apart from the management account's own account scan.
    label: str = ""

    @property
    def key(self) -> str:
        return self.label or self.account_id


_SCOPE: ContextVar[AccountScope | None] = ContextVar("orgscan_account_scope", default=None)


def arn_partition(arn: str) -> str:
    """The partition of an ARN (``arn:PARTITION:service:...``): aws, aws-us-gov, aws-cn, ..."""
    parts = arn.split(":", 2)
    if len(parts) < 3 or parts[0] != "arn" or not parts[1]:
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1]


def iam_role_arn(partition: str, account_id: str, role_name: str) -> str:
    """The ARN of role ``role_name`` in ``account_id`` (IAM is global within a partition)."""
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


@dataclass(frozen=True)
class CallerIdentity:
    """Whom the scan runs as, asked of STS once per scan (``Aws.base_scope``)."""

    account_id: str
    arn: str

    @property
    def partition(self) -> str:
        return arn_partition(self.arn)


@contextlib.contextmanager
def account_scope(scope: AccountScope) -> Iterator[AccountScope]:
    """Sign every call made in this context (and tasks it starts) as ``scope``'s account."""
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def current_scope() -> AccountScope:
    scope = _SCOPE.get()
    if scope is None:
        raise ScopeError("an AWS call was made outside an account scope")
    return scope


class SharedTLSSession(AIOHTTPSession):
    """aiobotocore's HTTP session, with ONE TLS context for every client of the scan.

    aiobotocore (2.25) builds a TLS context per client and loads the CA bundle into each
    (``load_verify_locations``, ~20 ms each: 28 clients cost 0.6 s) even for a plain-http
    endpoint; its ``connector_args={"ssl_context": ...}`` cannot replace it (aiohttp refuses
    ``ssl`` together with ``ssl_context``). This session builds the context once per CA
    bundle and shares it; proxies and client certificates keep aiobotocore's own path.
    Passed as ``AioConfig(http_session_cls=...)``, the documented way to choose the session.
    """

    def _create_connector(self, proxy_url: str | None) -> aiohttp.TCPConnector:
        # aiobotocore's own attributes (untyped in its stubs).
        me: Any = self
        if proxy_url or me._cert_file or not me._verify:
            connector: aiohttp.TCPConnector = me._base_connector(proxy_url)
            return connector
        return aiohttp.TCPConnector(limit=me._max_pool_connections,
                                    ssl=shared_tls_context(me._verify),
                                    **me._connector_args)

    def _base_connector(self, proxy_url: str | None) -> Any:
        base: Any = AIOHTTPSession
        return base._create_connector(self, proxy_url)


def cache_user_agent(client: Any) -> None:
    """Build the client's User-Agent header once per set of feature ids, not twice a request.

    botocore builds the header from scratch for every request (when it builds the request, and
    again once the request is signed, to add the feature ids registered meanwhile): about a
    tenth of a scan's CPU, in sanitizing the same components again. Everything in it but the
    feature ids (the current context's, and the client's own) is fixed when the client is
    created (SDK, platform, language, environment, client config, user_agent_extra), so the
    string for one set of feature ids is always the same: it is kept, per client.
    """
    creator: Any = client._user_agent_creator
    build = creator.to_string
    built: dict[tuple[frozenset[str], frozenset[str]], str] = {}

    def to_string() -> str:
        context = get_context()
        key = (frozenset(context.features) if context is not None else frozenset(),
               frozenset(creator._client_features or ()))
        ua = built.get(key)
        if ua is None:
            ua = built[key] = build()
        return ua

    # An instance attribute: the client's own calls and its request-created handler
    # (a bound method calling self.to_string()) both find it first.
    creator.to_string = to_string


def _fast_context_copy() -> None:
    """aiobotocore copies botocore's ClientContext with ``copy.deepcopy`` on every API call,
    request and page (nested), through the generic deepcopy machinery: ~3% of a scan's CPU.
    The context holds only ``features``, a set of strings (immutable), so a new set is a deep
    copy. Only done while that holds: a botocore whose context has other fields keeps its own.
    """
    if [f.name for f in fields(ClientContext)] != ["features"]:
        return

    def deepcopy_context(self: ClientContext, memo: dict[int, Any]) -> ClientContext:
        return ClientContext(features=set(self.features))

    ClientContext.__deepcopy__ = deepcopy_context  # type: ignore[attr-defined]


_fast_context_copy()

_TLS_CONTEXTS: dict[str, ssl.SSLContext] = {}


def shared_tls_context(verify: bool | str) -> ssl.SSLContext:
    """The one TLS context per CA bundle (``verify``: True for the default bundle, or a
    path), built as aiobotocore builds it; the first client of a process builds it."""
    ca_certs: Any = get_cert_path(verify)  # type: ignore[arg-type]  # a path is accepted
    key = str(ca_certs)
    context = _TLS_CONTEXTS.get(key)
    if context is None:
        context = create_urllib3_context()
        if ca_certs:
            context.load_verify_locations(ca_certs, None, None)
        _TLS_CONTEXTS[key] = context
    return context


@cache
def shared_loader() -> Loader:
    """botocore's data loader for its default search path, one per process. A loader caches
    what it has read (endpoint data, service models: tens of ms of JSON decoding each), so the
    config check's region names (regions.py) and every session of the process (one per
    organization) decode each file once instead of once per session."""
    return create_loader()


def _share_loader(session: Any) -> None:
    """Give ``session`` the process's loader, as botocore would build its own: from the
    ``data_path`` config variable, read on first use; a custom data path gets its own."""
    def data_loader() -> Loader:
        path = session.get_config_variable("data_path")
        return shared_loader() if path is None else create_loader(path)

    session.lazy_register_component("data_loader", data_loader)


class Aws:
    """One per scan: the shared session, clients, credentials and limiters."""

    def __init__(self, settings: AwsSettings) -> None:
        self.settings = settings
        self.stats = CallStats()
        # One circuit per endpoint: a scan gives up promptly on an endpoint that is gone.
        self.circuits = Circuits()
        # aiobotocore's session (not aioboto3's, which only adds boto3 resources and costs
        # boto3's import at start-up).
        self._session: Any = AioSession()
        _share_loader(self._session)
        if settings.credentials is not None:
            key, secret = settings.credentials
            self._session.set_credentials(key, secret)
            self._session.set_config_variable("region", settings.region)
        elif settings.profile is not None:
            self._session.set_config_variable("profile", settings.profile)
        self._clients: dict[tuple[str, str], Any] = {}
        self._client_lock = asyncio.Lock()
        self._stack = contextlib.AsyncExitStack()
        self._limiters: dict[tuple[str, str, str], RateLimiter] = {}
        self._caller: CallerIdentity | None = None
        self._config = AioConfig(
            http_session_cls=SharedTLSSession,
            retries={"mode": "standard", "max_attempts": settings.max_attempts},
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_pool_connections=settings.max_pool_connections,
            user_agent_extra=f"orgscan/{__version__}",
        )

    async def __aenter__(self) -> Aws:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
        self._clients.clear()

    async def client(self, service: str, region: str | None = None) -> Any:
        """The shared client for (service, region); calls sign as the current account scope."""
        key = (service, region or self.settings.region)
        client = self._clients.get(key)
        if client is not None:
            return client
        async with self._client_lock:
            client = self._clients.get(key)
            if client is None:
                client = await self._stack.enter_async_context(self._session.create_client(
                    service, region_name=key[1], endpoint_url=self.settings.endpoint_url,
                    config=self._config,
                    # Placeholders: every request is signed with the scope's credentials.
                    aws_access_key_id="orgscan-unscoped",
                    aws_secret_access_key="orgscan-unscoped",  # noqa: S106 - placeholder
                ))
                self._hook(client)
                cache_user_agent(client)
                sign_faster(client)
                self._clients[key] = client
        return client

    def _hook(self, client: Any) -> None:
        events = client.meta.events
        events.register_first("before-parameter-build.*.*", self._before_call)
        events.register("before-send.*.*", self._count_attempt)
        events.register("needs-retry.*.*", self._count_throttle)
        self.circuits.watch(client)

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.endpoint_prefix
        if not is_read_operation(service, model.name):
            raise ReadOnlyViolation(service, model.name)
        signing: dict[str, Any] = context.setdefault("signing", {})
        signing["request_credentials"] = current_scope().credentials

    def _count_attempt(self, event_name: str, **_: Any) -> None:
        service, op = event_name.split(".", 2)[1:]
        scope = _SCOPE.get()
        self.stats.attempted(scope.key if scope else "-", f"{service}:{op}")

    def _count_throttle(self, response: Any = None, **_: Any) -> None:
        if not response:
            return
        code = str(response[1].get("Error", {}).get("Code", ""))
        if is_throttle(code):
            scope = _SCOPE.get()
            self.stats.throttles[scope.key if scope else "-"] += 1

    def limiter(self, account_id: str, api: str, region: str, rate: float,
                burst: int = 1) -> RateLimiter:
        """The limiter for one (account, API, region): AWS's quotas are per account and region."""
        key = (account_id, api, region)
        lim = self._limiters.get(key)
        if lim is None:
            lim = self._limiters[key] = RateLimiter(rate, burst)
        return lim

    # -- credentials ------------------------------------------------------------------------

    @property
    def caller(self) -> CallerIdentity:
        """Whom the organization-level calls run as: the base credentials' identity, or the
        ``management_role_arn`` session. Known once ``base_scope`` has run. It may be the
        management account or a delegated administrator (a member): which one is known only
        from the organization (``Organization.management_account_id``), never assumed here."""
        if self._caller is None:
            raise ScopeError("the caller identity is unknown until base_scope() has run")
        return self._caller

    def role_arn(self, account_id: str, role_name: str | None = None) -> str:
        """A role's ARN in the caller's partition (the audit role unless named)."""
        return iam_role_arn(self.caller.partition, account_id,
                            role_name or self.settings.role_name)

    async def base_scope(self) -> AccountScope:
        """The caller's credentials (the management account's or a delegated administrator's),
        from the standard chain, optionally through ``management_role_arn`` (a role in either);
        records the caller identity."""
        try:
            creds = await self._session.get_credentials()
        except ProfileNotFound as exc:
            raise AccessDenied("ProfileNotFound", f"{exc} in the AWS config files (named by "
                               "--profile, aws.profile or AWS_PROFILE)") from exc
        if creds is None:
            raise AccessDenied("NoCredentials", "no AWS credentials found (profile, "
                               "environment or instance role)", service="sts")
        # A placeholder account id until the caller identity is known; the call is
        # organization-level work, counted as such.
        scope = AccountScope("base", creds, ORG_LABEL)
        with account_scope(scope):
            sts = await self.client("sts")
            try:
                ident = await sts.get_caller_identity()
            except Exception as exc:
                raise_classified(exc, service="sts", operation="GetCallerIdentity")
        caller = CallerIdentity(str(ident["Account"]), str(ident["Arn"]))
        scope = AccountScope(caller.account_id, creds, ORG_LABEL)
        if self.settings.management_role_arn:
            account_id = self.settings.management_role_arn.split(":")[4]
            creds, session_arn = await self._assume(scope, self.settings.management_role_arn,
                                                    account_id)
            # AssumeRole names the session as GetCallerIdentity would inside it.
            caller = CallerIdentity(account_id, session_arn)
            scope = AccountScope(account_id, creds, ORG_LABEL)
        self._caller = caller
        return scope

    async def assume(self, base: AccountScope, account_id: str, *,
                     label: str = "") -> AccountScope:
        """Credentials in a member account through the audit role, refreshed before expiry."""
        return await self.assume_role_arn(base, self.role_arn(account_id), label=label)

    async def assume_role_arn(self, base: AccountScope, role_arn: str, *,
                              label: str = "") -> AccountScope:
        """Credentials for any role (e.g. a log-archive reader), refreshed before expiry.
        ``label`` counts the calls made with them for someone else (see AccountScope)."""
        account_id = role_arn.split(":")[4]
        creds, _ = await self._assume(base, role_arn, account_id)
        return AccountScope(account_id, creds, label)

    async def _assume(self, base: AccountScope, role_arn: str,
                      account_id: str) -> tuple[AioRefreshableCredentials, str]:
        """Refreshing credentials for ``role_arn``, and the ARN of the first session."""
        duration = max(MIN_SESSION_SECONDS, self.settings.session_duration)

        async def assume_role() -> Any:
            kwargs: dict[str, Any] = {
                "RoleArn": role_arn,
                "RoleSessionName": self.settings.session_name,
                "DurationSeconds": duration,
            }
            if self.settings.external_id:
                kwargs["ExternalId"] = self.settings.external_id
            with account_scope(base):
                sts = await self.client("sts")
                try:
                    resp = await sts.assume_role(**kwargs)
                except Exception as exc:
                    raise_classified(exc, service="sts", operation="AssumeRole",
                                     account_id=account_id)
            return resp

        def credentials(resp: Any) -> dict[str, Any]:
            c = resp["Credentials"]
            return {
                "access_key": c["AccessKeyId"],
                "secret_key": c["SecretAccessKey"],
                "token": c["SessionToken"],
                "expiry_time": iso(c["Expiration"]),  # a datetime from botocore
            }

        async def fetch() -> dict[str, Any]:
            return credentials(await assume_role())

        first = await assume_role()
        metadata = credentials(first)
        # botocore's defaults (refresh 15 / 10 minutes before expiry) would refresh a 15-minute
        # session on every call; scale them to the session instead: to the lifetime STS
        # actually granted, which may be shorter than asked, else every call would refresh.
        lifetime = _lifetime_s(metadata["expiry_time"], default=duration)
        creds = AioRefreshableCredentials.create_from_metadata(
            metadata, refresh_using=fetch, method="assume-role",
            # Whole seconds, and never 0: a margin of 0 signs calls that expire in flight.
            advisory_timeout=max(1, int(min(15 * 60, lifetime / 4))),
            mandatory_timeout=max(1, int(min(10 * 60, lifetime / 8))),
        )
        # botocore asks its clock whether to refresh before every request; its default clock
        # builds a dateutil tzlocal() each time. The expiry is an aware datetime, so "now" in
        # UTC gives the same remaining seconds, at a fraction of the cost.
        clocked: Any = creds  # botocore's attribute (untyped in its stubs)
        clocked._time_fetcher = utcnow
        return creds, str(first["AssumedRoleUser"]["Arn"])


def _lifetime_s(expiry_iso: str, *, default: float) -> float:
    """Seconds from now until ``expiry_iso``; ``default`` when it cannot be read."""
    try:
        expiry = datetime.fromisoformat(expiry_iso.replace("Z", "+00:00"))
    except ValueError:
        return default
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=UTC)
    return max(1.0, min(float(default), (expiry - utcnow()).total_seconds()))


def utcnow() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "AccountScope",
    "Aws",
    "AwsSettings",
    "RateLimiter",
    "account_scope",
    "current_scope",
    "is_read_operation",
    "utcnow",
]
