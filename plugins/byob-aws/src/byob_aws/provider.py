"""`S3Provider`: every verb of an S3-family provider, for one `ProviderSpec`.

The top of byob-aws's stack below the hook module (`byob_aws.plugin`): it forwards the data
verbs to `byob_aws.s3` and runs `byob_aws.provision` and `byob_aws.validate`, which sit on
`byob_aws.s3`, `byob_aws.credentials`, `byob_aws.sigv4` and `byob_aws.errors`. Nothing
below imports this module. Provisioning and validation are imported when first used, so
importing the plugin stays cheap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from byob_core.objects import DeleteBatch, DeleteResult, Entry, ListRequest
from byob_core.signing import SignedRequest, SignRequest
from byob_core.stores import Store

from byob_aws.s3 import S3Multipart, delete_entries, filesystem, list_entries, presigner
from byob_aws.sigv4 import PreparedPresigner

if TYPE_CHECKING:
    from byob_core.findings import Finding
    from byob_core.plans import Plan
    from byob_core.provider import ProviderSpec, ProvisionContext, ValidateContext
    from fsspec import AbstractFileSystem

    from byob_aws.provision import Provisioner
    from byob_aws.validate import Validator


class S3Provider:
    """Every verb of an S3-family provider, for one `ProviderSpec`.

    Subclass it for an S3-compatible service and override what differs; the plugin module
    of a provider only forwards its hooks to one instance. `check_prefix` names the
    findings (``aws.versioning``) and plan changes.
    """

    #: Whether the service has AWS KMS (keys by ARN) for default encryption.
    has_kms: bool = True
    #: The classes that run `provision` and `validate`; subclass them to change a step.
    provisioner_class: type[Provisioner] | None = None
    validator_class: type[Validator] | None = None

    def __init__(self, spec: ProviderSpec, *, check_prefix: str | None = None) -> None:
        self.spec = spec
        self.check_prefix = check_prefix or spec.name

    def filesystem(self, store: Store) -> AbstractFileSystem:
        return filesystem(store)

    def sign(self, store: Store, requests: Sequence[SignRequest]) -> list[SignedRequest]:
        return presigner(store, self.spec.user_param).sign_many(requests)

    def signer(self, store: Store, method: str, expires: dt.timedelta) -> PreparedPresigner:
        return presigner(store, self.spec.user_param).prepare(method, expires)

    def multipart(self, store: Store) -> S3Multipart:
        return S3Multipart(store, self.spec.user_param)

    def list(self, store: Store, request: ListRequest) -> Iterator[Entry]:
        return list_entries(store, request)

    def garbage_collect(self, store: Store, batch: DeleteBatch) -> DeleteResult:
        return delete_entries(store, batch)

    def provision(self, store: Store, context: ProvisionContext) -> Plan:
        from byob_aws.provision import Provisioner

        return (self.provisioner_class or Provisioner)(self, store, context).run()

    def validate(self, store: Store, context: ValidateContext) -> list[Finding]:
        from byob_aws.validate import Validator

        return (self.validator_class or Validator)(self, store, context).run()
