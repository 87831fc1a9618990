"""A fault-injecting HTTP/1.1 proxy for tests: it stands between a client and a local server
(moto, Ceph RGW, fake-gcs-server, Azurite) and spoils a seeded fraction of the requests.

Faults, by name:

- ``500``, ``503``: that status, with the provider's error document, before the server sees
  the request;
- ``slowdown``: the provider's throttling answer (S3 503 SlowDown, GCS 429
  rateLimitExceeded, Azure 503 ServerBusy), before the server sees the request;
- ``429``: Too Many Requests, before the server sees the request;
- ``reset``: the request reaches the server, then the client's connection is reset
  without an answer (the work was done, the client cannot know);
- ``stall``: the request reaches the server, and the answer is held `stall` seconds (past
  the client's read timeout) before it is sent;
- ``truncate``: the answer is sent with its full Content-Length but half its body, then
  the connection is closed.

The choice is made by a `random.Random(seed)`: the same client doing the same requests
meets the same faults. At most `max_run` requests in a row are spoiled, so a client that
retries at least that often always gets through; one of the first `ensure_within`
requests always is, so that a short exchange meets a fault. Runs on its own asyncio loop in a
daemon thread::

    with FaultProxy("127.0.0.1:9000", faults=["503"], fraction=0.3, seed=1) as proxy:
        ...  # point the client at proxy.url
        proxy.injected  # Counter({"503": 4})
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("500", "503", "slowdown", "429", "reset", "stall", "truncate")
#: Faults answered by the proxy itself: the server never sees the request.
STATUS_FAULTS = ("500", "503", "slowdown", "429")
DIALECTS = ("s3", "gcs", "azure")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
}

#: (method, target, lower-cased headers) -> whether the request may be spoiled.
Match = Callable[[str, str, dict[str, str]], bool]


def _error_answer(fault: str, dialect: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """The status, headers and body a provider sends for a status fault."""
    status = {"500": 500, "503": 503, "429": 429, "slowdown": 503}[fault]
    if dialect == "gcs":
        if fault == "slowdown":
            status = 429
        reason = {429: "rateLimitExceeded", 500: "backendError", 503: "backendError"}[status]
        body = (
            f'{{"error":{{"code":{status},"message":"injected {fault}",'
            f'"errors":[{{"reason":"{reason}","message":"injected {fault}"}}]}}}}'
        ).encode()
        return status, [("Content-Type", "application/json; charset=UTF-8")], body
    if dialect == "azure":
        code = {
            "500": "InternalError",
            "503": "ServerBusy",
            "slowdown": "ServerBusy",
            "429": "ServerBusy",
        }[fault]
        body = (
            '<?xml version="1.0" encoding="utf-8"?><Error>'
            f"<Code>{code}</Code><Message>injected {fault}</Message></Error>"
        ).encode()
        return status, [("Content-Type", "application/xml"), ("x-ms-error-code", code)], body
    code = {
        "500": "InternalError",
        "503": "ServiceUnavailable",
        "slowdown": "SlowDown",
        "429": "TooManyRequestsException",
    }[fault]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
        f"<Code>{code}</Code><Message>injected {fault}</Message>"
        "<RequestId>0FA17C0FFEE00000</RequestId></Error>"
    ).encode()
    return status, [("Content-Type", "application/xml")], body


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of `upstream` that spoils some requests."""

    def __init__(
        self,
        upstream: str,
        *,
        faults: Iterable[str] = (),
        fraction: float = 0.0,
        seed: int = 0,
        dialect: str = "s3",
        stall: float = 3.0,
        max_run: int = 2,
        match: Match | None = None,
        rewrite_host: bool = False,
    ) -> None:
        parts = urlsplit(upstream if "://" in upstream else f"http://{upstream}")
        if not parts.hostname or not parts.port:
            raise ValueError(f"upstream must be host:port, not {upstream!r}")
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}")
        self.upstream = (parts.hostname, parts.port)
        self.dialect = dialect
        self.stall = stall
        self.rewrite_host = rewrite_host
        self.configure(faults=faults, fraction=fraction, seed=seed, max_run=max_run, match=match)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- settings and counters --------------------------------------------------------------
    def configure(
        self,
        *,
        faults: Iterable[str] = (),
        fraction: float = 0.0,
        seed: int = 0,
        max_run: int = 2,
        match: Match | None = None,
        ensure_within: int = 3,
    ) -> None:
        """Change what is spoiled from now on, and reset the counters and the random state.

        `ensure_within`: one of the first that many eligible requests (chosen by the seed)
        is always spoiled, so that a short test meets at least one fault; 0 for none.
        """
        chosen = tuple(faults)
        unknown = set(chosen) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {', '.join(FAULTS)}")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be between 0 and 1")
        self.faults: Sequence[str] = chosen
        self.fraction = fraction
        self.max_run = max_run
        self.match = match
        self._rng = random.Random(seed)
        self._forced = self._rng.randrange(ensure_within) if ensure_within > 0 else -1
        self._eligible = 0
        self._run = 0
        self.requests = 0
        self.injected: Counter[str] = Counter()
        #: Requests that repeated a spoiled one (same method and target): retries seen.
        self.retried = 0
        self._spoiled: Counter[tuple[str, str]] = Counter()
        self.log: list[tuple[str, str, str | None]] = []

    def clean(self) -> None:
        """Spoil nothing from now on (counters are kept)."""
        self.faults = ()
        self.fraction = 0.0

    @property
    def faulted(self) -> int:
        return sum(self.injected.values())

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)

            async def serve() -> None:
                self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]
                ready.set()

            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="byob-fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def close(self) -> None:
        if self._thread is None:
            return

        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- choosing ----------------------------------------------------------------------------
    def _choose(self, method: str, target: str, headers: dict[str, str]) -> str | None:
        self.requests += 1
        if not self.faults or self.fraction <= 0:
            return None
        if self.match is not None and not self.match(method, target, headers):
            return None
        # Draw for every eligible request, so that the sequence depends on the seed alone.
        roll, pick = self._rng.random(), self._rng.choice(self.faults)
        forced = self._eligible == self._forced
        self._eligible += 1
        if (roll >= self.fraction and not forced) or self._run >= self.max_run:
            self._run = 0
            return None
        self._run += 1
        self.injected[pick] += 1
        return pick

    # -- serving -----------------------------------------------------------------------------
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the client connection is finished."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [
            (name.strip(), value.strip())
            for line in lines[1:]
            if line
            for name, _, value in [line.partition(":")]
        ]
        lowered = {name.lower(): value for name, value in headers}
        if lowered.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        body = await _read_body(reader, lowered)
        if self._spoiled[(method, target)] > 0:
            self._spoiled[(method, target)] -= 1
            self.retried += 1
        fault = self._choose(method, target, lowered)
        if fault is not None:
            self._spoiled[(method, target)] += 1
        self.log.append((method, target, fault))
        if fault in STATUS_FAULTS:
            status, extra, payload = _error_answer(fault, self.dialect)
            await _answer(writer, status, extra, payload, method)
            return True
        status, answer_headers, payload = await self._forward(method, target, headers, body)
        if fault == "reset":
            _reset(writer)
            return False
        if fault == "stall":
            await asyncio.sleep(self.stall)
        if fault == "truncate":
            await _answer(writer, status, answer_headers, payload, method, cut=True)
            return False
        await _answer(writer, status, answer_headers, payload, method)
        return lowered.get("connection", "").lower() != "close"

    async def _forward(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        host, port = self.upstream
        reader, writer = await asyncio.open_connection(host, port)
        try:
            sent = [(n, v) for n, v in headers if n.lower() not in _HOP_BY_HOP]
            sent = [(n, v) for n, v in sent if n.lower() != "content-length"]
            if self.rewrite_host:
                sent = [(n, v) for n, v in sent if n.lower() != "host"]
                sent.insert(0, ("Host", f"{host}:{port}"))
            if body or method in ("PUT", "POST", "PATCH"):
                sent.append(("Content-Length", str(len(body))))
            sent.append(("Connection", "close"))
            request = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in sent)
            writer.write(request.encode("latin-1") + b"\r\n" + body)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            answer = [
                (name.strip(), value.strip())
                for line in lines[1:]
                if line
                for name, _, value in [line.partition(":")]
            ]
            lowered = {name.lower(): value for name, value in answer}
            if method == "HEAD" or status in (204, 304) or status < 200:
                payload = b""
            else:
                payload = await _read_body(reader, lowered, until_eof=True)
            return status, answer, payload
        finally:
            writer.close()


async def _read_body(
    reader: asyncio.StreamReader, headers: dict[str, str], *, until_eof: bool = False
) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is not None:
        return await reader.readexactly(int(length)) if int(length) else b""
    return await reader.read() if until_eof else b""


async def _answer(
    writer: asyncio.StreamWriter,
    status: int,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    method: str,
    *,
    cut: bool = False,
) -> None:
    kept = [(n, v) for n, v in headers if n.lower() not in _HOP_BY_HOP]
    if method != "HEAD":
        kept = [(n, v) for n, v in kept if n.lower() != "content-length"]
        kept.append(("Content-Length", str(len(body))))
    head = f"HTTP/1.1 {status} {_reason(status)}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in kept)
    data = head.encode("latin-1") + b"\r\n" + (b"" if method == "HEAD" else body)
    if cut:
        # Half the body, then hang up. An answer without a body is cut inside its status
        # line: cut among the headers, clients take what arrived for the whole answer.
        keep = len(data) - max(1, len(body) // 2) if len(body) >= 2 else 8
        data = data[:keep]
    writer.write(data)
    await writer.drain()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0): the client sees ECONNRESET."""
    sock: Any = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


__all__ = ["DIALECTS", "FAULTS", "FaultProxy"]
