"""A local S3 endpoint for the demo: a moto server on 127.0.0.1, reached as a ``minio`` store.

>>> with local_s3() as s3:                       # doctest: +SKIP
...     config = config_mod.from_mapping(
...         {"instance": s3.store_config("demo-instance", subpath="wandb"),
...          "teams": {"omega": s3.store_config("demo-omega", subpath="omega")}},
...         environ={**os.environ, "GORILLA_SUPPORTED_FILE_STORES":
...                  s3.connection_string("demo-omega", subpath="omega")})

S3-compatible team stores must be listed in ``GORILLA_SUPPORTED_FILE_STORES``
(docs/configuration.md#deployments),
hence `LocalS3.connection_string`.

The server is byob-aws's local S3 stand-in (`byob_aws.localserver.moto_server`),
started on a free port and stopped when the block ends; it needs ``moto[server]`` (the
``demo`` extra).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import attrs
from byob_core.stores import Credentials, Store


@attrs.frozen(kw_only=True)
class LocalS3:
    """A running local S3 endpoint and the (fake) keys it accepts."""

    endpoint_url: str
    region: str
    credentials: Credentials = attrs.field(repr=False)

    @property
    def endpoint(self) -> str:
        """Host and port, as a store's `endpoint` field holds them."""
        return self.endpoint_url.split("://", 1)[1]

    def store_config(self, bucket: str, *, subpath: str = "") -> dict[str, Any]:
        """A store table for `byob_core.config.from_mapping` (a ``minio`` store, plain HTTP)."""
        table: dict[str, Any] = {
            "provider": "minio",
            "bucket": bucket,
            "endpoint": self.endpoint_url,
            "region": self.region,
            "tls": False,
            "path_style": True,
            "access_key": self.credentials.access_key,
            "secret_key": self.credentials.secret_key,
        }
        if subpath:
            table["subpath"] = subpath
        return table

    def connection_string(self, bucket: str, *, subpath: str = "") -> str:
        """The store's ``s3://`` connection string, for ``GORILLA_SUPPORTED_FILE_STORES``.

        It holds the (fake) keys: pass it in the configuration's environment, never print it.
        """
        from byob_core import uris

        return uris.format(self.store(bucket, subpath=subpath))

    def store(self, bucket: str, *, subpath: str = "") -> Store:
        """The same store as a `Store`."""
        return Store(
            provider="minio",
            bucket=bucket,
            subpath=subpath,
            endpoint=self.endpoint,
            region=self.region,
            tls=False,
            path_style=True,
            credentials=self.credentials,
        )


@contextlib.contextmanager
def local_s3(*, timeout: float = 30.0) -> Iterator[LocalS3]:
    """Start a moto S3 server on 127.0.0.1 on a free port; yield how to reach it; stop it."""
    from byob_aws import localserver

    with localserver.moto_server(timeout=timeout) as endpoint_url:
        yield LocalS3(
            endpoint_url=endpoint_url,
            region=localserver.REGION,
            credentials=Credentials(
                access_key=localserver.ACCESS_KEY, secret_key=localserver.SECRET_KEY
            ),
        )
