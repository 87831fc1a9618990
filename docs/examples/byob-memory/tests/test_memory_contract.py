"""byob-memory passes the core's conformance suite: the whole test file of a plugin."""

import uuid

import pytest
from byob_core import Store
from byob_core.testing import ProviderContract


class TestMemoryContract(ProviderContract):
    @pytest.fixture
    def store(self) -> Store:
        return Store(provider="memory", bucket=f"bucket-{uuid.uuid4().hex[:8]}", subpath="team")
