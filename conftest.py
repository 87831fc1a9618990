"""Fixtures every package's tests share: servers that are started once per test session."""

from __future__ import annotations

import pytest

_started: dict[str, float] = {}


@pytest.fixture(scope="session")
def rgw():
    """A real Ceph RADOS Gateway (verifies SigV4), started once: `byob_minio.testing.RgwServer`.

    Missing Ceph packages make the tests that use it fail: ``bash scripts/setup.sh``
    installs them.
    """
    from byob_minio.testing import ceph_rgw

    with ceph_rgw() as server:
        _started["Ceph RGW"] = server.start_seconds
        yield server


def pytest_terminal_summary(terminalreporter):
    for name, seconds in _started.items():
        terminalreporter.write_line(f"{name} started in {seconds:.1f} s")
