"""byob-gcp on fake-gcs-server (with the XML multipart shim) behind the fault-injecting
proxy: every fault type, every verb."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from byob_core.stores import Store
from byob_core.testing_faults import FaultContract
from byob_gcp.filesystem import JsonApi, make_filesystem


@pytest.fixture(scope="module")
def shim(fake_gcs: str, xml_multipart_shim) -> Iterator[str]:
    with xml_multipart_shim(fake_gcs) as endpoint:
        yield endpoint


class TestGcpUnderFaults(FaultContract):
    dialect = "gcs"
    rewrite_host = True  # fake-gcs-server tells XML from JSON requests by the Host

    @pytest.fixture(autouse=True)
    def _factory(self, make_store) -> None:
        self._make = make_store

    @pytest.fixture
    def upstream(self, shim: str) -> str:
        return shim

    def store_at(self, endpoint: str, bucket: str, **fields) -> Store:
        return self._make(endpoint, bucket=bucket, **fields)

    def create_bucket(self, store: Store) -> None:
        JsonApi(make_filesystem(store)).create_bucket({"name": store.bucket}, "byob")
