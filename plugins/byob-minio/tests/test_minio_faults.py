"""byob-minio on Ceph RGW (which verifies every signature) behind the fault-injecting
proxy: every fault type, every verb. The proxy leaves the Host header alone, so what
byob signed for the proxy's address is what RGW checks."""

from __future__ import annotations

import pytest
from byob_aws import s3
from byob_core.stores import Credentials, Store
from byob_core.testing_faults import FaultContract


class TestMinioOnRgwUnderFaults(FaultContract):
    dialect = "s3"
    timeout = 2.0  # a Ceph cluster on a shared 2-core machine answers more slowly

    @pytest.fixture(autouse=True)
    def _server(self, rgw) -> None:
        self._rgw = rgw

    @pytest.fixture
    def upstream(self, rgw) -> str:
        return rgw.host

    def store_at(self, endpoint: str, bucket: str, **fields) -> Store:
        return Store(
            provider="minio",
            bucket=bucket,
            endpoint=endpoint,
            tls=False,
            path_style=True,
            region=self._rgw.region,
            credentials=Credentials(
                access_key=self._rgw.access_key, secret_key=self._rgw.secret_key
            ),
            **fields,
        )

    def create_bucket(self, store: Store) -> None:
        s3.client(store).create_bucket(Bucket=store.bucket)
