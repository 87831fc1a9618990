"""The core conformance suite, run on the aws provider against the moto server."""

from __future__ import annotations

import pytest
from byob_core.testing import ProviderContract

from .conftest import make_store


class TestAwsContract(ProviderContract):
    @pytest.fixture
    def store(self, moto_endpoint):
        return make_store(moto_endpoint, subpath="conformance")
