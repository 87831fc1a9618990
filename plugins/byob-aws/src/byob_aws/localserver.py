"""A local S3 stand-in: moto in server mode on 127.0.0.1, for the demo and the tests.

>>> with moto_server() as endpoint:            # doctest: +SKIP
...     store = Store(provider="aws", bucket="b", endpoint=endpoint, tls=False, ...)

The server runs as a subprocess (``moto_server``) with ``MOTO_DISABLE_GLOBAL_CORS=true``,
so bucket CORS rules are really applied to preflights. A missing ``moto_server`` binary
raises: tests must fail, not skip, without their server. The runtime (byob-minio's
``byob_demo_endpoint``) imports this module, never `byob_aws.testing`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

#: Credentials that moto accepts and that no real account has.
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105
REGION = "us-east-1"
#: The environment a test process should run with: fake credentials, a fixed region,
#: and no shared config that could point at a real account.
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary() -> str:
    local = Path(sys.executable).with_name("moto_server")
    if local.exists():
        return str(local)
    found = shutil.which("moto_server")
    if found is None:
        raise RuntimeError("moto_server not found: pip install 'moto[server]'")
    return found


@contextlib.contextmanager
def moto_server(*, timeout: float = 30.0) -> Iterator[str]:
    """Start ``moto_server`` on a free port; yield its endpoint URL; stop it at the end."""
    port = free_port()
    env = {**os.environ, **FAKE_ENV, "MOTO_DISABLE_GLOBAL_CORS": "true"}
    process = subprocess.Popen(
        [_binary(), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with code {process.returncode}")
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not answer on {endpoint}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def reset(endpoint: str) -> None:
    """Forget every bucket and key on the server."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass
