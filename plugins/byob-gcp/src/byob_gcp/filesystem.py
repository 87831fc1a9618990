"""The gcsfs filesystem of a store, and the JSON API calls made through its session.

gcsfs is imported here, inside functions, never at module level: discovery must stay
cheap. Before the first import, when an emulator or a custom endpoint is in play, we set
``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false``: otherwise gcsfs probes a gRPC API over TLS
and every call hangs for a minute against a local server.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import attrs
from byob_core import retries
from byob_core.errors import StoreAccessError
from byob_core.stores import Store

from byob_gcp.credentials import gcsfs_token, project_of

if TYPE_CHECKING:
    from gcsfs import GCSFileSystem

HNS_FLAG = "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"
#: The project gcsfs is given when nothing names one (emulators ignore it).
FALLBACK_PROJECT = "byob"


def _quiet_hns(store: Store) -> None:
    if store.endpoint or os.environ.get("STORAGE_EMULATOR_HOST"):
        os.environ.setdefault(HNS_FLAG, "false")


def make_filesystem(store: Store, *, version_aware: bool = False) -> GCSFileSystem:
    """A gcsfs filesystem for the store's endpoint and credentials.

    `version_aware` stays off for the byob filesystem: with it on, gcsfs reads a ``#`` in
    a key as a generation separator, and keys may hold ``#``.
    """
    _quiet_hns(store)
    GCSFileSystem = _filesystem_class()

    import aiohttp

    policy = retries.policy_of(store)
    timeout = aiohttp.ClientTimeout(
        total=None, connect=policy.timeout, sock_connect=policy.timeout, sock_read=policy.timeout
    )
    kwargs: dict[str, Any] = {
        "token": gcsfs_token(store),
        "project": project_of(store) or FALLBACK_PROJECT,
        "version_aware": version_aware,
        # Connect and read timeouts on every call. gcsfs hands `requests_timeout` to each
        # request, and a None there would switch off the session's timeouts too.
        "requests_timeout": timeout,
        "session_kwargs": {"timeout": timeout},
        # Part of gcsfs's instance cache key: stores with other settings get their own.
        "byob_policy": policy,
    }
    if store.endpoint_url:
        kwargs["endpoint_url"] = store.endpoint_url
    try:
        return GCSFileSystem(**kwargs)
    except Exception as exc:  # google-auth raises many kinds when a key is unusable
        raise StoreAccessError(
            f"cannot build a GCS client for {store.display}: {type(exc).__name__}",
            hint="check the service account key, key_file, or application default credentials",
        ) from exc


_CLASS: list[Any] = []


def _filesystem_class() -> Any:
    """gcsfs's core filesystem (not the experimental HNS subclass), with byob's retries.

    gcsfs retries each request 6 times with a fixed schedule of its own; the subclass
    replaces that with the store's policy (exponential backoff, full jitter), and does
    not repeat a conditional write blindly.
    """
    if _CLASS:
        return _CLASS[0]
    from gcsfs.core import GCSFileSystem

    once = GCSFileSystem._request.__wrapped__  # the request without gcsfs's retry loop

    class ByobGCSFileSystem(GCSFileSystem):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, byob_policy: Any = None, **kwargs: Any) -> None:
            self.byob_policy = byob_policy or retries.RetryPolicy()
            super().__init__(*args, **kwargs)

        async def _request(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            policy = self.byob_policy
            if _conditional(kwargs):
                # A conditional write repeated after its first attempt succeeded unseen
                # fails its precondition; let the caller see the first failure instead.
                policy = attrs.evolve(policy, retries=0)
            failed: list[BaseException] = []

            def note(exc: BaseException) -> bool:
                retry = _retryable(exc)
                if retry:
                    failed.append(exc)
                return retry

            try:
                return await retries.acall(
                    lambda: once(self, method, path, *args, **kwargs),
                    policy=policy,
                    what=f"gcs {method}",
                    retryable=note,
                )
            except FileNotFoundError:
                # A repeated delete meets 404 when an earlier attempt did delete (its
                # answer was lost): the object is gone, which is what was asked.
                if method.upper() == "DELETE" and failed:
                    return 204, {}, None, b""
                raise

    _CLASS.append(ByobGCSFileSystem)
    return ByobGCSFileSystem


def _conditional(kwargs: dict[str, Any]) -> bool:
    return any(name in kwargs for name in ("ifGenerationMatch", "ifMetagenerationMatch"))


def _retryable(exc: BaseException) -> bool:
    # gcsfs turns a 502 into requests' ProxyError, and 404/403/412 into OSErrors.
    if isinstance(exc, FileNotFoundError | FileExistsError):
        return False
    if isinstance(exc, OSError) and str(exc).startswith("Forbidden"):
        return "rateLimitExceeded" in str(exc)
    return retries.transient(exc)


class HttpStatusError(Exception):
    """A JSON API call answered with an error status; `status` is the HTTP code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def status_of(exc: BaseException) -> int | None:
    """The HTTP status behind a gcsfs error, as far as it can be told."""
    if isinstance(exc, HttpStatusError):
        return exc.status
    if isinstance(exc, FileNotFoundError):
        return 404
    if isinstance(exc, FileExistsError):
        return 412
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    text = str(exc)
    if text.startswith("Forbidden"):
        return 403
    if text.startswith("Bad Request"):
        return 400
    return None


class JsonApi:
    """The JSON API calls byob needs, sent through a gcsfs session (its auth and endpoint).

    Every method raises `HttpStatusError` (with the status) for an HTTP error, so callers
    can tell 403 (missing role) and 404 (no bucket) apart.
    """

    def __init__(self, fs: GCSFileSystem) -> None:
        self.fs = fs

    @property
    def base(self) -> str:
        return str(self.fs._location).rstrip("/")

    def call(self, method: str, path: str, *args: str, **kwargs: Any) -> Any:
        """One call; `path` is relative to ``/storage/v1/`` with ``{}`` for quoted `args`."""
        from gcsfs.retry import HttpError

        try:
            _, body = self.fs.call(method, path, *args, **kwargs)
        except (OSError, ValueError, HttpError) as exc:
            status = status_of(exc)
            if status is None:
                raise
            raise HttpStatusError(status, str(exc).splitlines()[0][:200]) from exc
        if not body:
            return {}
        import json

        return json.loads(body)

    # -- buckets --------------------------------------------------------------------------
    def get_bucket(self, bucket: str) -> dict[str, Any]:
        return dict(self.call("GET", "b/{}", bucket))

    def create_bucket(self, body: dict[str, Any], project: str) -> dict[str, Any]:
        return dict(self.call("POST", "b", json=body, project=project))

    def patch_bucket(self, bucket: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("PATCH", "b/{}", bucket, json=body))

    def get_iam(self, bucket: str) -> dict[str, Any]:
        return dict(self.call("GET", "b/{}/iam", bucket, optionsRequestedPolicyVersion="3"))

    def set_iam(self, bucket: str, policy: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("PUT", "b/{}/iam", bucket, json=policy))

    # -- objects --------------------------------------------------------------------------
    def list_objects(self, bucket: str, **params: Any) -> dict[str, Any]:
        return dict(self.call("GET", "b/{}/o", bucket, **params))

    def delete_object(self, bucket: str, key: str, generation: str | None = None) -> None:
        params = {"generation": generation} if generation else {}
        self.call("DELETE", "b/{}/o/{}", bucket, key, **params)
