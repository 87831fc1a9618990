"""A real FTP server (pyftpdlib) on 127.0.0.1, started once per session."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

USER = "byob"
PASSWORD = "ftp-s3cret-pw"


@attrs.frozen
class FtpServer:
    host: str
    port: int
    root: Path
    password: str = PASSWORD

    def uri(self, bucket: str, subpath: str = "") -> str:
        sub = f"/{subpath}" if subpath else ""
        return f"ftp://{USER}:{PASSWORD}@{self.host}:{self.port}/{bucket}{sub}"


@pytest.fixture(scope="session")
def ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FtpServer]:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    root = tmp_path_factory.mktemp("ftp-root")
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "banner": "byob test"})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedFTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2}, daemon=True)
    thread.start()
    try:
        yield FtpServer(host="127.0.0.1", port=port, root=root)
    finally:
        server.close_all()
        thread.join(timeout=5)
