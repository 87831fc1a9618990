"""A moto S3 server on 127.0.0.1 for tests of S3-family plugins (byob-aws, byob-minio).

>>> with moto_server() as endpoint:            # doctest: +SKIP
...     store = Store(provider="aws", bucket="b", endpoint=endpoint, tls=False, ...)

The server runs as a subprocess (``moto_server``) with ``MOTO_DISABLE_GLOBAL_CORS=true``,
so bucket CORS rules are really applied to preflights. A missing ``moto_server`` binary
raises: tests must fail, not skip, without their server.
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
from typing import Any

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


# -- the undo window on a real versioned bucket ----------------------------------------------

History = dict[str, list[tuple[str, bool]]]


def history(store: Any) -> History:
    """Every version and delete marker in `store`'s bucket: key -> [(version id, is marker)]."""
    from byob_aws.s3 import client

    found: History = {}
    pages = client(store).get_paginator("list_object_versions").paginate(Bucket=store.bucket)
    for page in pages:
        for item in page.get("Versions", ()):
            found.setdefault(item["Key"], []).append((item["VersionId"], False))
        for item in page.get("DeleteMarkers", ()):
            found.setdefault(item["Key"], []).append((item["VersionId"], True))
    return {key: sorted(items) for key, items in sorted(found.items())}


def undo_window_scenario(store: Any) -> dict[str, Any]:
    """Write, collect, then purge versions twice in sub-path ``team`` of `store`'s bucket
    (versioning on), and return the bucket's `history` after each step with the reports.

    1. ``team/live/a`` (two versions), ``team/dead/x`` (two) and ``team/dead/y`` (one),
       then a 3 s wait, so that the versions are older than the grace used below;
    2. ``gc``: dead/* are not live, so they are deleted (delete markers, now);
    3. ``gc --purge-versions --grace 2s`` at once: the versions are older than the grace
       but their deletion is not, so every version of dead/* must still be there;
    4. the same an hour later (``now`` moved on): dead/* lose every version and marker.
    """
    import datetime as dt

    import attrs
    from byob_core.gc import GcOptions, collect
    from byob_core.plugins import PluginHost

    from byob_aws.s3 import client

    store = attrs.evolve(store, subpath="team")
    s3 = client(store)
    for key, bodies in (("live/a", 2), ("dead/x", 2), ("dead/y", 1)):
        for n in range(bodies):
            s3.put_object(Bucket=store.bucket, Key=f"team/{key}", Body=f"{key} {n}".encode())
    host = PluginHost.load()
    steps: dict[str, Any] = {"written": history(store)}
    time.sleep(3)
    steps["gc"] = collect(host, store, ["live/a"], GcOptions(grace="0s"))
    steps["deleted"] = history(store)
    purge = GcOptions(grace="2s", purge_versions=True)
    steps["purge_soon"] = collect(host, store, ["live/a"], purge)
    steps["after_purge_soon"] = history(store)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    steps["purge_later"] = collect(host, store, ["live/a"], purge, now=later)
    steps["after_purge_later"] = history(store)
    return steps
