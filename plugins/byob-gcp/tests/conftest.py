"""Fixtures of the byob-gcp tests: the two local GCS stand-ins, the XML multipart shim in
front of them, and a throw-away RSA key.

Both servers are started once per session on free 127.0.0.1 ports and stopped at the
end; a missing server binary fails the tests that need it (never a skip).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Iterator

# Before anything imports gcsfs (see LOCAL-SERVERS.md): no gRPC probe that hangs.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

import pytest
from byob_core.stores import Credentials, Store
from byob_gcp.testing import fake_gcs_server, gcp_storage_emulator

SERVICE_ACCOUNT = "byob-test@byob-project.iam.gserviceaccount.com"
_names = itertools.count(1)


def new_bucket_name(prefix: str = "byob") -> str:
    """A bucket name no other test in the session uses."""
    return f"{prefix}-{os.getpid()}-{next(_names)}"


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    """A fresh 2048-bit RSA key in PKCS#8 PEM, as service-account JSON keys carry it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a fake-gcs-server (data path, generations, batch deletes)."""
    with fake_gcs_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a gcp-storage-emulator (bucket metadata round trips)."""
    with gcp_storage_emulator() as endpoint:
        yield endpoint


@pytest.fixture
def make_store(rsa_pem: str):
    """A factory of gcp stores at a local endpoint, each with a bucket name of its own.

    ``make_store(endpoint, signing=True, **fields)``: `signing` gives the store the test
    service account and its RSA key.
    """

    def make(endpoint: str, *, signing: bool = True, **kwargs: object) -> Store:
        fields: dict[str, object] = {
            "provider": "gcp",
            "bucket": new_bucket_name(),
            "endpoint": endpoint,
            "tls": False,
        }
        if signing:
            fields["service_account"] = SERVICE_ACCOUNT
            fields["credentials"] = Credentials(private_key=rsa_pem)
        fields.update(kwargs)
        return Store(**fields)  # type: ignore[arg-type]

    return make


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
            digest = hashlib.md5(body).digest()
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
def start_xml_multipart_shim(upstream: str) -> Iterator[str]:
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


@pytest.fixture(scope="session")
def xml_multipart_shim():
    """`start_xml_multipart_shim`: ``with xml_multipart_shim(upstream) as endpoint: ...``."""
    return start_xml_multipart_shim
