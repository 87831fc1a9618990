"""The core conformance suite, run on the aws provider against the moto server."""

from __future__ import annotations

import pytest
from byob_core.testing import ByobFileContract, ProviderContract

from .conftest import make_store


class TestAwsContract(ProviderContract):
    @pytest.fixture
    def store(self, moto_endpoint):
        return make_store(moto_endpoint, subpath="conformance")


class TestAwsByobFiles(ByobFileContract):
    """``byob://`` file objects over s3fs (blockcache:: once failed on close with KeyError)."""

    @pytest.fixture
    def store(self, moto_endpoint):
        return make_store(moto_endpoint, subpath="teams")
