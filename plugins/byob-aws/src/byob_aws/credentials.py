"""Where an S3 store's AWS identity comes from: its keys, a profile, an assumed role, or the chain.

* ``profile``: the credentials of that shared-config profile (any kind botocore knows).
* ``role_arn`` (with ``external_id``, ``role_session_name``, ``role_duration``): STS
  AssumeRole, from the store's keys if it has them, else its profile, else the ambient
  chain. This is how a platform reaches a team's bucket by role and not by keys.
* ``role_arn`` with ``web_identity_token_file``: STS AssumeRoleWithWebIdentity with the
  OIDC token in that file (read again at each refresh: the file is rotated under us).

Temporary credentials are botocore's refreshable ones: they are fetched again before they
expire (botocore's advisory window, 15 minutes, and mandatory window, 10 minutes), by
every client and pre-signer of the store. The STS endpoint is the store's endpoint when it
is not an AWS host (moto, and S3-compatible servers with an STS), else AWS's regional one.
botocore and aiobotocore are imported inside the functions.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from typing import TYPE_CHECKING, Any

from byob_core.errors import ConfigError, StoreAccessError

from byob_aws.errors import error_code, error_message
from byob_aws.sigv4 import is_aws_host

if TYPE_CHECKING:
    from byob_aws.s3 import Connection

DEFAULT_SESSION_NAME = "byob"
_lock = threading.Lock()


def uses_role(conn: Connection) -> bool:
    return bool(conn.role_arn)


def sts_endpoint(conn: Connection) -> str | None:
    if conn.endpoint_url and not is_aws_host(conn.endpoint_url):
        return conn.endpoint_url
    return None


def _extra_args(conn: Connection) -> dict[str, Any]:
    extra: dict[str, Any] = {"RoleSessionName": conn.role_session_name or DEFAULT_SESSION_NAME}
    if conn.external_id and not conn.web_identity_token_file:
        extra["ExternalId"] = conn.external_id
    if conn.role_duration:
        extra["DurationSeconds"] = int(conn.role_duration)
    return extra


def _base_session(conn: Connection) -> Any:
    import botocore.exceptions
    import botocore.session

    try:
        return (
            botocore.session.Session(profile=conn.profile)
            if conn.profile
            else (botocore.session.Session())
        )
    except botocore.exceptions.ProfileNotFound:
        raise _no_profile(conn) from None


def _no_profile(conn: Connection) -> ConfigError:
    return ConfigError(
        [
            (
                "profile",
                f"AWS profile {conn.profile!r} is not in the shared config or credentials file",
            )
        ]
    )


def _source_credentials(conn: Connection) -> Any:
    """The credentials a role is assumed with (or the store's own, without a role)."""
    import botocore.credentials
    import botocore.exceptions

    if conn.access_key and conn.secret_key:
        return botocore.credentials.Credentials(
            conn.access_key, conn.secret_key, conn.session_token, method="store"
        )
    try:
        found = _base_session(conn).get_credentials()
    except botocore.exceptions.ProfileNotFound:
        raise _no_profile(conn) from None
    if found is None:
        raise StoreAccessError(
            "no AWS credentials: the store carries none and "
            + (
                f"profile {conn.profile!r} has none" if conn.profile else "the AWS chain found none"
            ),
            hint="put access keys in the store, name a profile, or run with an instance or task role",
        )
    return found


def _client_creator(conn: Connection) -> Any:
    import botocore.session

    session = botocore.session.Session()
    endpoint = sts_endpoint(conn)

    def create(service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("region_name", conn.region)
        if endpoint:
            kwargs.setdefault("endpoint_url", endpoint)
        return session.create_client(service, **kwargs)

    return create


@functools.lru_cache(maxsize=64)
def credentials_for(conn: Connection) -> Any:
    """The store's botocore credentials object: static, from a profile, or refreshable."""
    import botocore.credentials

    if not conn.role_arn:
        return _source_credentials(conn)
    if conn.web_identity_token_file:
        fetcher: Any = botocore.credentials.AssumeRoleWithWebIdentityCredentialFetcher(
            client_creator=_client_creator(conn),
            web_identity_token_loader=botocore.utils.FileWebIdentityTokenLoader(
                conn.web_identity_token_file
            ),
            role_arn=conn.role_arn,
            extra_args=_extra_args(conn),
        )
        method = "assume-role-with-web-identity"
    else:
        fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
            client_creator=_client_creator(conn),
            source_credentials=_source_credentials(conn),
            role_arn=conn.role_arn,
            extra_args=_extra_args(conn),
        )
        method = "assume-role"

    def refresh() -> dict[str, Any]:
        try:
            return fetcher.fetch_credentials()  # type: ignore[no-any-return]
        except Exception as exc:
            raise _refused(conn, exc) from exc

    return botocore.credentials.DeferredRefreshableCredentials(refresh_using=refresh, method=method)


def _refused(conn: Connection, exc: BaseException) -> StoreAccessError:
    code = error_code(exc) or type(exc).__name__
    return StoreAccessError(
        f"cannot assume role {conn.role_arn}: {code}: {error_message(exc)}",
        hint="check the role's trust policy (principal, external id) and the source credentials",
    )


def frozen(conn: Connection) -> tuple[str, str, str | None]:
    """(access key, secret key, token) valid now: refreshed first when near expiry."""
    creds = credentials_for(conn)
    current = creds.get_frozen_credentials()
    return current.access_key, current.secret_key, current.token


class _Provider:
    """A botocore credential provider that hands a session the store's credentials."""

    METHOD = CANONICAL_NAME = "byob-store"

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    def load(self) -> Any:
        return self.credentials


def session_for(conn: Connection) -> Any:
    """A botocore session whose clients use the store's (refreshing) credentials."""
    import botocore.session

    session = botocore.session.Session()
    provider = _Provider(credentials_for(conn))
    session.get_component("credential_provider").insert_before("env", provider)
    return session


class _AioProvider:
    METHOD = CANONICAL_NAME = "byob-store"

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    async def load(self) -> Any:
        return self.credentials


def aio_session_for(conn: Connection) -> Any:
    """An aiobotocore session for s3fs with the same credentials, refreshed the same way."""
    import asyncio

    from aiobotocore.credentials import AioDeferredRefreshableCredentials
    from aiobotocore.session import AioSession

    if not conn.role_arn and conn.profile:
        return AioSession(profile=conn.profile)
    session = AioSession()
    sync_creds = credentials_for(conn)
    if conn.role_arn:

        async def refresh() -> dict[str, Any]:
            # The sync object decides when to call STS; this one follows its expiry.
            current = await asyncio.to_thread(sync_creds.get_frozen_credentials)
            expiry = getattr(sync_creds, "_expiry_time", None) or (
                dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15)
            )
            return {
                "access_key": current.access_key,
                "secret_key": current.secret_key,
                "token": current.token,
                "expiry_time": expiry.isoformat(),
            }

        aio_creds: Any = AioDeferredRefreshableCredentials(
            refresh_using=refresh, method="assume-role"
        )
    else:
        from aiobotocore.credentials import AioCredentials

        current = sync_creds.get_frozen_credentials()
        aio_creds = AioCredentials(current.access_key, current.secret_key, current.token)
    session.get_component("credential_provider").insert_before("env", _AioProvider(aio_creds))
    return session


def clear() -> None:
    """Forget every cached credential object (tests; a changed environment)."""
    with _lock:
        credentials_for.cache_clear()
