"""Retries and timeouts: the policy from a store's options, full-jitter backoff, the
retry helpers over real HTTP through the fault proxy, and a bounded `validate` on an
endpoint that does not answer."""

from __future__ import annotations

import http.server
import random
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from byob_core import cli, retries
from byob_core.api import Byob
from byob_core.config import Config, from_mapping
from byob_core.errors import ByobError, ConfigError
from byob_core.findings import Status
from byob_core.plugins import PluginHost
from byob_core.stores import Credentials, Store
from byob_core.testing_proxy import FaultProxy


class TestPolicy:
    def test_defaults(self) -> None:
        policy = retries.policy_of(Store(provider="aws", bucket="b"))
        assert (policy.retries, policy.timeout) == (retries.DEFAULT_RETRIES, 10.0)
        assert policy.timeout <= 10

    def test_from_options(self) -> None:
        store = Store(provider="aws", bucket="b", options={"retries": 0, "timeout": 2.5})
        policy = retries.policy_of(store)
        assert (policy.retries, policy.attempts, policy.timeout) == (0, 1, 2.5)

    @pytest.mark.parametrize(
        ("options", "named"),
        [
            ({"retries": -1}, "options.retries"),
            ({"retries": "3"}, "options.retries"),
            ({"retries": True}, "options.retries"),
            ({"retries": 1000}, "options.retries"),
            ({"timeout": 0}, "options.timeout"),
            ({"timeout": float("inf")}, "options.timeout"),
            ({"timeout": "10s"}, "options.timeout"),
            ({"backoff": -1}, "options.backoff"),
        ],
    )
    def test_bad_options_are_a_configuration_error_naming_them(self, options, named) -> None:
        with pytest.raises(ConfigError) as caught:
            from_mapping({"instance": {"provider": "aws", "bucket": "b", "options": options}})
        assert caught.value.problems[0][0] == f"instance.{named}"

    def test_full_jitter_stays_under_the_exponential_ceiling(self) -> None:
        policy = retries.RetryPolicy(backoff=0.5, max_delay=4.0)
        rng = random.Random(7)
        for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
            waits = [policy.delay(retry, rng) for _ in range(200)]
            assert all(0 <= w < ceiling for w in waits)
            assert max(waits) > ceiling * 0.8, "full jitter spreads over the whole range"
            assert min(waits) < ceiling * 0.2

    def test_override_wins_and_is_checked(self) -> None:
        try:
            retries.override(timeout=1.5)
            store = Store(provider="aws", bucket="b", options={"timeout": 30})
            assert retries.policy_of(store).timeout == 1.5
            with pytest.raises(ByobError, match="--timeout"):
                retries.override(timeout=0)
        finally:
            retries.clear_override()


class TestCall:
    def test_transient_failures_are_retried_then_succeed(self) -> None:
        outcomes: list[BaseException | str] = [ConnectionResetError(), TimeoutError(), "ok"]

        def flaky() -> str:
            outcome = outcomes.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        policy = retries.RetryPolicy(retries=3, backoff=0.001)
        assert retries.call(flaky, policy=policy, what="test", sleep=lambda _: None) == "ok"
        assert outcomes == []

    def test_lasting_failure_gives_up_after_the_retries(self) -> None:
        calls = []

        def down() -> None:
            calls.append(1)
            raise ConnectionRefusedError("refused")

        policy = retries.RetryPolicy(retries=2, backoff=0.001)
        with pytest.raises(ConnectionRefusedError):
            retries.call(down, policy=policy, what="test", sleep=lambda _: None)
        assert len(calls) == 3

    def test_a_permanent_error_is_not_retried(self) -> None:
        calls = []

        def denied() -> None:
            calls.append(1)
            raise PermissionError("403")

        with pytest.raises(PermissionError):
            retries.call(denied, policy=retries.RetryPolicy(), what="test")
        assert len(calls) == 1


@pytest.fixture
def origin() -> Iterator[tuple[str, list[str]]]:
    """A tiny HTTP server (host:port) that records the methods it served."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen.append(self.command)
            body = b"hello " * 100
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = _answer

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


class TestSendThroughTheProxy:
    POLICY = retries.RetryPolicy(retries=3, timeout=1.0, backoff=0.01)

    @pytest.mark.parametrize(
        "fault", ["500", "503", "slowdown", "429", "reset", "stall", "truncate"]
    )
    def test_an_idempotent_request_gets_through(self, origin, fault: str) -> None:
        upstream, _ = origin
        with FaultProxy(upstream, faults=[fault], fraction=1.0, max_run=2, stall=1.5) as proxy:
            status, _, body = retries.send("GET", proxy.url + "/x", policy=self.POLICY)
        assert (status, body) == (200, b"hello " * 100)
        assert proxy.injected[fault] == 2, "two faults in a row, then the answer"
        assert proxy.requests == 3

    def test_a_post_is_not_repeated_blindly(self, origin) -> None:
        upstream, seen = origin
        with (
            FaultProxy(upstream, faults=["reset"], fraction=1.0, max_run=1) as proxy,
            pytest.raises(OSError),
        ):
            retries.send("POST", proxy.url + "/x", b"once", policy=self.POLICY)
        assert seen == ["POST"], "the server saw it once; a retry could have done it twice"

    def test_the_last_answer_stands_when_the_store_stays_down(self, origin) -> None:
        upstream, _ = origin
        with FaultProxy(upstream, faults=["503"], fraction=1.0, max_run=100) as proxy:
            status, _, _ = retries.send("GET", proxy.url + "/x", policy=self.POLICY)
        assert status == 503
        assert proxy.requests == self.POLICY.attempts

    def test_the_proxy_is_deterministic(self, origin) -> None:
        upstream, _ = origin
        logs = []
        for _ in range(2):
            with FaultProxy(upstream, faults=["500", "reset"], fraction=0.4, seed=11) as proxy:
                for _ in range(12):
                    retries.send("GET", proxy.url + "/x", policy=self.POLICY)
            logs.append([fault for _, _, fault in proxy.log])
        assert logs[0] == logs[1]
        assert any(logs[0]) and not all(logs[0])


# -- a store that does not answer ----------------------------------------------------------


@pytest.fixture
def silent() -> Iterator[str]:
    """``host:port`` where a connection is never accepted: a listening socket whose
    backlog is full, so that a new SYN goes unanswered (a black hole, without a network)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = server.getsockname()
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    time.sleep(0.2)
    yield f"{address[0]}:{address[1]}"
    for filler in fillers:
        filler.close()
    server.close()


def _stores(endpoint: str, **options: object) -> list[Store]:
    return [
        Store(
            provider="aws",
            bucket="b",
            endpoint=endpoint,
            tls=False,
            path_style=True,
            region="us-east-1",
            credentials=Credentials(access_key="AKIAEXAMPLE", secret_key="not-a-secret-really"),
            options=options,
        ),
        Store(provider="gcp", bucket="b", endpoint=endpoint, tls=False, options=options),
        Store(
            provider="azure",
            account="devstoreaccount1",
            bucket="b",
            endpoint=f"{endpoint}/devstoreaccount1",
            tls=False,
            credentials=Credentials(account_key="a2V5"),
            options=options,
        ),
    ]


class TestUnreachable:
    @pytest.mark.parametrize("index", [0, 1, 2], ids=["s3", "gcs", "azure"])
    @pytest.mark.parametrize("retries_", [0, 4])
    def test_validate_fails_within_the_timeout_with_a_finding_that_says_so(
        self, silent: str, index: int, retries_: int, tmp_path
    ) -> None:
        store = _stores(silent, retries=retries_, timeout=1.5)[index]
        byob = Byob(Config(instance=store, data_dir=tmp_path), PluginHost.load())
        started = time.monotonic()
        report = byob.validate()
        elapsed = time.monotonic() - started
        found = report.by_check()["core.reachable"]
        assert found.status is Status.FAIL
        assert "unreachable" in found.message and silent in found.message
        assert "1.5 s" in found.message
        assert not report.ok
        # The bound is the behaviour under test: one connection attempt, not every check
        # times its SDK's retries (it took 20 s on S3, 105 s on GCS, 170 s on Azure).
        assert elapsed < 1.5 + 3.0

    def test_a_refused_port_is_reported_at_once(self, tmp_path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        store = _stores(f"127.0.0.1:{port}", timeout=5)[0]
        report = Byob(Config(instance=store, data_dir=tmp_path), PluginHost.load()).validate()
        found = report.by_check()["core.reachable"]
        assert found.status is Status.FAIL
        assert "refused" in found.message.lower()

    def test_cli_timeout_bounds_validate_and_bad_values_exit_2(
        self, silent: str, tmp_path, capsys
    ) -> None:
        config = tmp_path / "byob.toml"
        config.write_text(
            "[instance]\nprovider = 'aws'\nbucket = 'b'\nregion = 'us-east-1'\n"
            f"endpoint = 'http://{silent}'\npath_style = true\n"
        )
        try:
            code = cli.main(["validate", "--config", str(config), "--timeout", "1", "--json"])
        finally:
            retries.clear_override()
        assert code == 1
        assert '"core.reachable"' in capsys.readouterr().out
        assert cli.main(["validate", "--config", str(config), "--timeout", "-3"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == ["error: --timeout must be a number of seconds from 0.001 to 3600, not -3.0"]
