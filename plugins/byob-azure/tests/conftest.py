"""Azurite for the byob-azure tests: started once per session on a free 127.0.0.1 port.

The binary is ``.cache/node/node_modules/.bin/azurite-blob`` under the repository root
(``scripts/setup.sh`` installs it there), found by walking up from this file, or the
path in ``BYOB_AZURITE``. A missing binary fails the tests: it is never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from byob_core.stores import Credentials, Store

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public; documented by Microsoft).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_RELATIVE = Path(".cache/node/node_modules/.bin/azurite-blob")


def azurite_binary() -> Path:
    given = os.environ.get("BYOB_AZURITE")
    if given:
        path = Path(given)
        if not path.exists():
            raise FileNotFoundError(f"BYOB_AZURITE={given} does not exist")
        return path
    for folder in Path(__file__).resolve().parents:
        candidate = folder / _RELATIVE
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"azurite-blob not found under any parent of {Path(__file__).parent} ({_RELATIVE}); "
        "run scripts/setup.sh (npm install azurite@3 into .cache/node) or set BYOB_AZURITE"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """The blob endpoint of a running Azurite, as a Store endpoint (``host:port/account``)."""
    binary = azurite_binary()
    if shutil.which("node") is None:
        raise FileNotFoundError("node is not on PATH; Azurite needs it")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="byob-azurite-")
    process = subprocess.Popen(
        [
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/{ACCOUNT}?comp=list"
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"Azurite exited with {process.returncode}: {err[-2000:]}")
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except urllib.error.HTTPError:
                break  # it answers (403 without credentials): ready
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("Azurite did not answer within 30 s") from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}/{ACCOUNT}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def azure_store(endpoint: str, container: str | None = None, **kwargs: object) -> Store:
    return Store(
        provider="azure",
        account=ACCOUNT,
        bucket=container or f"byob-{uuid.uuid4().hex[:12]}",
        endpoint=endpoint,
        tls=False,
        credentials=Credentials(account_key=KEY),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def new_store(azurite: str):  # type: ignore[no-untyped-def]
    """A factory of stores on fresh (not yet created) containers."""

    def make(**kwargs: object) -> Store:
        return azure_store(azurite, **kwargs)

    return make


@pytest.fixture
def store(azurite: str) -> Store:
    """A store on a fresh container that exists (created through the SDK)."""
    made = azure_store(azurite)
    from byob_azure import clients

    clients.container(made).create_container()
    return made


@pytest.fixture
def bare_service(azurite: str) -> Iterator[None]:
    """Reset the account's blob service properties (CORS, delete retention) around a test."""
    from azure.storage.blob import RetentionPolicy
    from byob_azure import clients

    service = clients.service(azure_store(azurite, container="reset"))
    service.set_service_properties(cors=[], delete_retention_policy=RetentionPolicy(enabled=False))
    yield
    service.set_service_properties(cors=[], delete_retention_policy=RetentionPolicy(enabled=False))
