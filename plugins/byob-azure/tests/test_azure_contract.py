"""The byob conformance suite (byob_core.testing) against Azurite."""

from __future__ import annotations

import pytest
from byob_core.stores import Store
from byob_core.testing import ByobFileContract, ProviderContract


@pytest.mark.usefixtures("bare_service")
class TestAzureContract(ProviderContract):
    @pytest.fixture
    def store(self, new_store) -> Store:  # type: ignore[no-untyped-def]
        return new_store(subpath="conformance/team")


@pytest.mark.usefixtures("bare_service")
class TestAzureByobFiles(ByobFileContract):
    """``byob://`` file objects over adlfs, on Azurite."""

    @pytest.fixture
    def store(self, new_store) -> Store:  # type: ignore[no-untyped-def]
        return new_store(subpath="teams")
