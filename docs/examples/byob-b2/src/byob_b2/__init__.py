"""byob-b2: Backblaze B2 as a byob provider, on the documented S3-compatible base."""

from __future__ import annotations

import datetime as dt
import re

import attrs
from byob_core import ConfigError, ProviderSpec, Store
from byob_minio import S3CompatiblePlugin, S3CompatibleProvider

SPEC = ProviderSpec(
    name="b2",
    schemes=("b2",),
    family="s3-compatible",  # the deployment matrix treats it like MinIO
    description="Backblaze B2 (S3-compatible API)",
    max_expiry=dt.timedelta(days=7),  # SigV4's limit
    gc_batch_size=1000,  # DeleteObjects' limit
    versions=True,  # B2 keeps file versions
    multipart=True,
    min_part_size=5 * 1024 * 1024,
)
# What B2 offers through the S3 API: versioning yes; AWS KMS, bucket policies and the
# public access block no.
PROVIDER = S3CompatibleProvider(
    SPEC, server="Backblaze B2", versioning=True, kms=False, policies=False
)
_B2_HOST = re.compile(r"^s3\.(?P<region>[a-z0-9-]+)\.backblazeb2\.com$")


class B2Plugin(S3CompatiblePlugin):
    def complete(self, store: Store) -> Store:
        """``b2://id:key@<region>/<bucket>`` means B2's host there; a B2 host names its region."""
        endpoint = store.endpoint or ""
        if endpoint and not re.search(r"[.:]", endpoint):  # a bare region
            endpoint = f"s3.{endpoint}.backblazeb2.com"
        match = _B2_HOST.match(endpoint)
        region = store.region or (match.group("region") if match else None)
        if not endpoint or region is None:
            raise ConfigError([("region", "missing; write b2://<keyID>:<key>@<region>/<bucket>")])
        return attrs.evolve(store, region=region, endpoint=endpoint)


plugin = B2Plugin(PROVIDER)
