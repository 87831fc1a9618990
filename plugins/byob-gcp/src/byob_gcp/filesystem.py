"""The gcsfs filesystem of a store, and the JSON API calls made through its session.

gcsfs is imported here, inside functions, never at module level: discovery must stay
cheap. Before the first import, when an emulator or a custom endpoint is in play, we set
``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false``: otherwise gcsfs probes a gRPC API over TLS
and every call hangs for a minute against a local server.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

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

    kwargs: dict[str, Any] = {
        "token": gcsfs_token(store),
        "project": project_of(store) or FALLBACK_PROJECT,
        "version_aware": version_aware,
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


def _filesystem_class() -> Any:
    """gcsfs's core filesystem (not the experimental HNS subclass it may export by default)."""
    from gcsfs.core import GCSFileSystem

    return GCSFileSystem


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
