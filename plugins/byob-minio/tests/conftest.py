"""The S3 servers byob-minio's suite runs on, once per session each, and fresh minio stores.

`s3_endpoint` is parametrized: every test that takes it runs on moto server (byob-aws's,
which checks no signature) and on Ceph RGW (the repo's `rgw` fixture, which verifies
SigV4 and answers several bucket APIs as Ceph 16.2 does). `minio_store` picks the keys
of the server an endpoint belongs to.
"""

from __future__ import annotations

import uuid

import pytest
from byob_aws.testing import ACCESS_KEY, FAKE_ENV, REGION, SECRET_KEY, moto_server
from byob_core.stores import Credentials, Store


@pytest.fixture(scope="session")
def moto_endpoint():
    """The endpoint URL of a moto server, with the process pointed at no real AWS account."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with moto_server() as endpoint:
            yield endpoint


#: endpoint URL -> the keys of the server behind it (moto's unless registered here).
KEYS: dict[str, Credentials] = {}
#: endpoint URL -> "moto" or "rgw".
SERVERS: dict[str, str] = {}


@pytest.fixture(scope="session", params=["moto", "rgw"])
def s3_endpoint(request):
    """The endpoint URL of moto server, then of Ceph RGW: each test runs on both."""
    if request.param == "moto":
        endpoint = request.getfixturevalue("moto_endpoint")
    else:
        rgw = request.getfixturevalue("rgw")
        endpoint = rgw.endpoint
        KEYS[endpoint] = Credentials(access_key=rgw.access_key, secret_key=rgw.secret_key)
    SERVERS[endpoint] = request.param
    return endpoint


@pytest.fixture
def s3_server(s3_endpoint) -> str:
    """Which server `s3_endpoint` is: ``"moto"`` or ``"rgw"``."""
    return SERVERS[s3_endpoint]


def keys_for(endpoint_url: str) -> Credentials:
    return KEYS.get(endpoint_url) or Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY)


def minio_store(endpoint_url: str, bucket: str | None = None, **fields) -> Store:
    """A minio store on `endpoint_url` as the core's config makes them: path-style, region set."""
    fields.setdefault("region", REGION)
    fields.setdefault("path_style", True)
    fields.setdefault("tls", endpoint_url.startswith("https://"))
    fields.setdefault("credentials", keys_for(endpoint_url))
    return Store(
        provider=fields.pop("provider", "minio"),
        bucket=bucket or f"byob-minio-{uuid.uuid4().hex[:12]}",
        endpoint=endpoint_url.split("://", 1)[1],
        **fields,
    )


@pytest.fixture(scope="session")
def make_store():
    """`minio_store`, for test modules (importlib mode cannot import conftest)."""
    return minio_store


@pytest.fixture
def store(s3_endpoint) -> Store:
    """A minio store on a bucket that does not exist yet."""
    return minio_store(s3_endpoint, subpath="wandb")


# -- a MinIO-like front for moto -----------------------------------------------------------
#
# moto and RGW have per-bucket CORS and versioning everywhere; MinIO does not. This proxy
# forwards every request to the server over HTTP (Host header and signature untouched), except those named in `refuse`, which it answers with
# the XML error MinIO sends, so the plugin meets MinIO's answers over a real socket.

NOT_IMPLEMENTED = (
    501,
    "NotImplemented",
    "A header you provided implies functionality that is not implemented",
)
#: (method, sub-resource) -> (status, code, message): what to refuse, and how.
MINIO_COMMUNITY = {("PUT", "cors"): NOT_IMPLEMENTED, ("GET", "cors"): NOT_IMPLEMENTED}
SINGLE_DRIVE = {("PUT", "versioning"): NOT_IMPLEMENTED}


class MinioLikeProxy:
    """An HTTP server on 127.0.0.1 in front of `upstream`; records every request it sees."""

    def __init__(self, upstream: str, refuse: dict[tuple[str, str], tuple[int, str, str]]) -> None:
        import http.client
        import http.server
        import threading
        import urllib.parse

        self.refuse = dict(refuse)
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        upstream_host = urllib.parse.urlsplit(upstream).netloc
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Every answer names MinIO in its Server header, as MinIO's own do.
            server_version = "MinIO"
            sys_version = ""

            def log_message(self, *args):  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                parts = urllib.parse.urlsplit(self.path)
                query = {k for k, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)}
                proxy.seen.append((self.command, self.path, dict(self.headers)))
                for (method, resource), (status, code, message) in proxy.refuse.items():
                    if self.command == method and resource in query:
                        bucket = parts.path.strip("/").split("/", 1)[0]
                        xml = (
                            '<?xml version="1.0" encoding="UTF-8"?>\n'
                            f"<Error><Code>{code}</Code><Message>{message}</Message>"
                            f"<BucketName>{bucket}</BucketName><Resource>{parts.path}</Resource>"
                            "<RequestId>17B0D5A1C0FFEE00</RequestId></Error>"
                        ).encode()
                        self.send_response(status)
                        self.send_header("Content-Type", "application/xml")
                        self.send_header("Content-Length", str(len(xml)))
                        self.end_headers()
                        self.wfile.write(xml)
                        return
                conn = http.client.HTTPConnection(upstream_host, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    self.send_response(answer.status)
                    # send_response said "Server: MinIO"; the server behind stays hidden.
                    for name, value in answer.getheaders():
                        if name.lower() not in (
                            "content-length",
                            "connection",
                            "transfer-encoding",
                            "server",
                            "x-amz-request-id",
                        ):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def minio_like(s3_endpoint):
    """Start a MinIO-like proxy in front of moto or RGW: ``minio_like(refuse) -> proxy``."""
    proxies: list[MinioLikeProxy] = []

    def start(refuse: dict[tuple[str, str], tuple[int, str, str]]) -> MinioLikeProxy:
        proxy = MinioLikeProxy(s3_endpoint, refuse)
        KEYS[proxy.endpoint] = keys_for(s3_endpoint)
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.close()


@pytest.fixture(scope="session")
def refusals():
    """The refusal tables: MinIO community edition, and a single-drive server."""
    return {
        "community": MINIO_COMMUNITY,
        "single_drive": SINGLE_DRIVE,
        "not_implemented": NOT_IMPLEMENTED,
    }
