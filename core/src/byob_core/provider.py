"""What a provider declares about itself (`ProviderSpec`) and the contexts the verbs hand it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from byob_core.signing import CompletedPart, MultipartUpload, SignedRequest

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


#: The families a provider belongs to, as the deployment matrix sees them.
FAMILIES = ("aws", "gcp", "azure", "s3-compatible", "other")
#: The native clouds among them.
CLOUD_FAMILIES = ("aws", "gcp", "azure")


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _family(value: str) -> str:
    if value not in FAMILIES:
        raise ValueError(f"ProviderSpec.family must be one of {', '.join(FAMILIES)}, not {value!r}")
    return value


@attrs.frozen(kw_only=True)
class ProviderSpec:
    """A provider a plugin owns: its name, its connection-string schemes and its abilities.

    >>> ProviderSpec(name="r2", schemes=("r2",), family="s3-compatible").family
    's3-compatible'
    """

    name: str
    #: Connection-string schemes this provider parses (``r2`` for ``r2://...``). A scheme
    #: no built-in parser knows is parsed with the generic form, or by the plugin's own
    #: `byob_parse_uri`.
    schemes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    description: str = ""
    #: Where the deployment matrix puts the provider: a native cloud (``aws``, ``gcp``,
    #: ``azure``), ``s3-compatible`` (MinIO, Ceph, R2, B2, ...) or ``other`` (a local
    #: directory, FTP, ...).
    family: str = attrs.field(default="other", converter=_family)
    #: Names of `Store.extras` that hold secrets: redacted everywhere like credentials.
    secret_extras: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: The filesystem is hierarchical (FTP, SFTP, a local disk): folders exist on their
    #: own, a write needs its parent folder, listings may name entries relative to the
    #: folder. The core then creates parent folders before it writes and normalises `ls`.
    hierarchical: bool = False
    #: False when the provider cannot pre-sign URLs (the file provider).
    can_sign: bool = True
    #: Longest lifetime of a signed URL (S3 SigV4: 7 days); None for no provider limit.
    max_expiry: dt.timedelta | None = dt.timedelta(days=7)
    #: Most keys one delete call may name (S3 DeleteObjects: 1,000; Azure batch: 256).
    gc_batch_size: int = 1000
    #: The provider keeps noncurrent versions that garbage collection may purge.
    versions: bool = False
    #: The provider has multipart uploads that garbage collection may abort.
    multipart: bool = False
    #: The query parameter that carries the requesting user's name in signed URLs.
    user_param: str = "X-User"
    #: The part size rules of multipart uploads.
    min_part_size: int = 100 * 1024 * 1024
    max_parts: int = 10_000


@attrs.frozen(kw_only=True)
class ValidateContext:
    """What a validation may do and know."""

    read_only: bool = False
    #: The platform principal (AWS role ARN or account, GCP service account) that must have access.
    principal: str | None = None
    deployment: str = "self-managed"
    team: str | None = None
    #: The store's fsspec filesystem, already built by the provider's `byob_filesystem`.
    fs: AbstractFileSystem | None = None


@attrs.frozen(kw_only=True)
class ProvisionContext:
    """What a provisioning run may do and know."""

    #: False for `plan` (read and describe only); True for `provision` (apply the changes).
    apply: bool = False
    principal: str | None = None
    deployment: str = "self-managed"
    team: str | None = None
    #: Provider settings from configuration (``store.options`` merged with defaults).
    settings: Mapping[str, Any] = attrs.field(factory=dict)


class Multipart(Protocol):
    """The multipart steps a provider implements (`byob_multipart` returns one).

    Keys are full object keys; the core has applied the sub-path and the guard.
    """

    def create(self, key: str, *, content_type: str | None = None) -> MultipartUpload:
        """Start an upload (S3 CreateMultipartUpload; GCS XML initiate; Azure: a new block-id space)."""
        ...

    def sign_parts(
        self,
        upload: MultipartUpload,
        parts: Sequence[tuple[int, str | None]],
        *,
        expires: dt.timedelta,
        at: dt.datetime,
        user: str | None = None,
    ) -> list[SignedRequest]:
        """Sign one upload request per (part number, base64 Content-MD5 or None)."""
        ...

    def complete(self, upload: MultipartUpload, parts: Sequence[CompletedPart]) -> None:
        """Assemble the object from the parts, in part-number order."""
        ...

    def abort(self, upload: MultipartUpload) -> None:
        """Abandon the upload and free its parts."""
        ...
