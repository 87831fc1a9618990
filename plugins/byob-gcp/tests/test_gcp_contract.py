"""The core's conformance suite for the gcp provider.

It runs against gcp-storage-emulator (which keeps the bucket metadata provisioning sets,
so the plan/provision idempotence checks are meaningful), fronted by the XML multipart
shim of the tests' conftest (neither emulator implements the XML multipart API).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from byob_core.stores import Store
from byob_core.testing import ByobFileContract, ProviderContract


@pytest.fixture(scope="module")
def emulator_with_multipart(gcs_emulator: str, xml_multipart_shim) -> Iterator[str]:
    with xml_multipart_shim(gcs_emulator) as endpoint:
        yield endpoint


class TestGcpContract(ProviderContract):
    @pytest.fixture
    def store(self, emulator_with_multipart: str, make_store) -> Store:
        return make_store(emulator_with_multipart, subpath="conformance/team")


class TestGcpByobFiles(ByobFileContract):
    """``byob://`` file objects over gcsfs, on fake-gcs-server (the data path)."""

    @pytest.fixture
    def store(self, fake_gcs: str, make_store) -> Store:
        return make_store(fake_gcs, subpath="teams")
