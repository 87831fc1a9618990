"""byob-r2: Cloudflare R2 on the documented S3-compatible base (byob-minio's classes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs
from byob_core import ConfigError, ProviderSpec, Store, hookimpl, uris
from byob_minio import S3CompatiblePlugin, S3CompatibleProvider

SPEC = ProviderSpec(
    name="r2",
    schemes=("r2",),
    family="s3-compatible",
    description="Cloudflare R2 (S3-compatible API)",
    secret_extras=("api_token",),  # a Cloudflare API token, for what the S3 API cannot do
    max_expiry=dt.timedelta(days=7),
    gc_batch_size=1000,
    versions=False,  # R2 has no object versioning
    multipart=True,
    min_part_size=5 * 1024 * 1024,
)
PROVIDER = S3CompatibleProvider(
    SPEC, server="Cloudflare R2", versioning=False, kms=False, policies=False
)


class R2Plugin(S3CompatiblePlugin):
    @hookimpl
    def byob_parse_uri(self, uri: str, scheme: str, environ: Mapping[str, str]) -> Store | None:
        """``r2://<keyId>:<secret>@<accountId>/<bucket>``: a host without a dot is the account."""
        if scheme != "r2":
            return None
        store = uris.parse_generic(uri, provider="r2", secret_extras=SPEC.secret_extras)
        if store.endpoint and "." not in store.endpoint and ":" not in store.endpoint:
            extras = {**store.extras, "account_id": store.endpoint}
            store = attrs.evolve(store, endpoint=None, extras=extras)
        return store

    def complete(self, store: Store) -> Store:
        """R2's endpoint from the account id (and jurisdiction), region ``auto``."""
        endpoint = store.endpoint
        if not endpoint:
            account = store.extras.get("account_id")
            if not account:
                raise ConfigError([("extras.account_id", "missing; the Cloudflare account id")])
            where = store.extras.get("jurisdiction")
            endpoint = f"{account}.{where + '.' if where else ''}r2.cloudflarestorage.com"
        return attrs.evolve(store, endpoint=endpoint, region=store.region or "auto")


plugin = R2Plugin(PROVIDER)
