"""The built-in file provider passes the public conformance suites."""

from __future__ import annotations

from pathlib import Path

import pytest
from byob_core import Store
from byob_core.testing import ByobFileContract, ProviderContract


class TestFileProviderContract(ProviderContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Store:
        return Store(provider="file", bucket=str(tmp_path / "bucket"), subpath="team/sub")


class TestFileByobFiles(ByobFileContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Store:
        return Store(provider="file", bucket=str(tmp_path / "bucket"), subpath="teams")
