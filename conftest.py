"""Fixtures every package's tests share: servers that are started once per test session."""

from __future__ import annotations

import sys

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
    faults = sys.modules.get("byob_core.testing_faults")
    if faults is not None and faults.FIGURES:
        terminalreporter.write_line(
            "fault tests (provider, fault, test, requests, faults injected, requests retried, "
            "end state equal to a clean run):"
        )
        for row in faults.FIGURES:
            terminalreporter.write_line("  " + "  ".join(str(cell) for cell in row))
