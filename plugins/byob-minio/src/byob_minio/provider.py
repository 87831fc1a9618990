"""The ``minio`` and ``coreweave`` providers: byob-aws's `S3Provider` with the endpoint rules of
S3-compatible services and their own provisioning and validation.

Data-path verbs (filesystem, sign, multipart, list, garbage collect) are byob-aws's, run on
the store with its endpoint filled in; provisioning and validation are this package's,
because MinIO answers several bucket APIs differently from AWS (no per-bucket CORS, no
public access block, versioning only on erasure-coded servers, KES instead of AWS KMS).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from byob_aws.provider import S3Provider
from byob_aws.s3 import S3Multipart
from byob_core.errors import ConfigError

from byob_minio import quirks

if TYPE_CHECKING:
    from byob_aws.sigv4 import PreparedPresigner
    from byob_core.findings import Finding
    from byob_core.objects import DeleteBatch, DeleteResult, Entry, ListRequest
    from byob_core.plans import Plan
    from byob_core.provider import ProviderSpec, ProvisionContext, ValidateContext
    from byob_core.signing import SignedRequest, SignRequest
    from byob_core.stores import Store
    from fsspec import AbstractFileSystem

#: CoreWeave AI Object Storage's S3 endpoint (``cw://`` connection strings name it too).
COREWEAVE_ENDPOINT = "cwobject.com"


@functools.cache
def _quiet_pipe_class(base: type) -> type:
    class S3CompatibleFileSystem(base):  # type: ignore[misc,valid-type]
        async def _pipe_file(self, *args: Any, **kwargs: Any) -> None:
            await super()._pipe_file(*args, **kwargs)

    return S3CompatibleFileSystem


class S3CompatibleProvider(S3Provider):
    """The documented base of an S3-compatible provider (MinIO, Ceph RGW, CoreWeave, R2, B2,
    Wasabi, ...): byob-aws's data path, and provisioning and validation that ask only
    for what the service has.

    `server` names the service in messages (``MinIO``, ``Backblaze B2``);
    `default_endpoint` is used when the store names none (CoreWeave); without it an
    endpoint is required. The switches say what the service offers through the S3 API:

    - `versioning` (default True): bucket versioning. False: provisioning asks for none
      and validation skips the check (declare ``ProviderSpec(versions=False)`` too).
    - `kms` (default False): SSE-KMS with the store's ``kms_key_arn``. False: a
      configured key is reported as unused; True: the key becomes the default encryption.
    - `policies` (default True): bucket policies (validation reads them for anonymous
      grants). False: the check is skipped and access is the keys' own scope.
    - `public_access_block` (default False): AWS's public access block; True adds
      byob-aws's step that turns it on.
    """

    has_kms = False

    def __init__(
        self,
        spec: ProviderSpec,
        *,
        server: str,
        default_endpoint: str | None = None,
        default_tls: bool = False,
        versioning: bool = True,
        kms: bool = False,
        policies: bool = True,
        public_access_block: bool = False,
    ) -> None:
        super().__init__(spec)
        self.server = server
        self.default_endpoint = default_endpoint
        self.default_tls = default_tls
        self.has_versioning = versioning
        self.has_kms = kms
        self.has_policies = policies
        self.has_public_access_block = public_access_block
        self.advice = quirks.Advice() if spec.name == "minio" else quirks.ServiceAdvice(server)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.name!r})"

    @property
    def is_minio(self) -> bool:
        return self.spec.name == "minio"

    def connect(self, store: Store) -> Store:
        """The store with its endpoint filled in: the one byob-aws's machinery is given.

        A store of a service without a default endpoint and with none of its own is a
        configuration error (S3-compatible stores need one).
        """
        if store.endpoint:
            return store
        if self.default_endpoint is None:
            raise ConfigError(
                [
                    (
                        "endpoint",
                        f"missing for the {self.spec.name} store {store.display}; S3-compatible "
                        "stores need one such as 'minio.example.com:9000' (and tls)",
                    )
                ]
            )
        return attrs.evolve(store, endpoint=self.default_endpoint, tls=self.default_tls)

    # -- data path: byob-aws's, on the connected store ------------------------------------
    def filesystem(self, store: Store) -> AbstractFileSystem:
        fs = super().filesystem(self.connect(store))
        # The same s3fs filesystem, except that `pipe_file` returns None as fsspec's
        # abstract one does: s3fs returns the PutObject response, which the core's probe
        # (``pipe_file(...) or True``) takes for a failure. Remove once the core no longer
        # depends on the return value.
        return _quiet_pipe_class(type(fs))(**fs.storage_options)

    def sign(self, store: Store, requests: Sequence[SignRequest]) -> list[SignedRequest]:
        return super().sign(self.connect(store), requests)

    def signer(self, store: Store, method: str, expires: dt.timedelta) -> PreparedPresigner:
        return super().signer(self.connect(store), method, expires)

    def multipart(self, store: Store) -> S3Multipart:
        return super().multipart(self.connect(store))

    def list(self, store: Store, request: ListRequest) -> Iterator[Entry]:
        return super().list(self.connect(store), request)

    def garbage_collect(self, store: Store, batch: DeleteBatch) -> DeleteResult:
        return super().garbage_collect(self.connect(store), batch)

    # -- control plane: this package's ---------------------------------------------------
    def provision(self, store: Store, context: ProvisionContext) -> Plan:
        from byob_minio.provision import Provisioner

        # The plan names the store as configured; the calls go to the connected one.
        return Provisioner(self, self.connect(store), context, shown=store).run()

    def validate(self, store: Store, context: ValidateContext) -> list[Finding]:
        from byob_minio.validate import Validator

        return Validator(self, self.connect(store), context).run()
