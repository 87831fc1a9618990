"""Where an S3 store's identity comes from, over HTTP against moto's S3 and STS: a named
profile, an assumed role (external id, session name, duration; refreshed before expiry),
a web identity token; and that a SaaS deployment takes a team bucket by role."""

from __future__ import annotations

import datetime as dt
import urllib.parse
import urllib.request
import uuid
from unittest import mock

import pytest
from byob_aws import credentials, provider, s3
from byob_aws.testing import ACCESS_KEY, SECRET_KEY
from byob_core import ConfigError, StoreAccessError
from byob_core.api import Byob
from byob_core.config import from_mapping
from byob_core.signing import SignRequest
from byob_core.stores import Credentials

from .conftest import make_store

ROLE = "arn:aws:iam::123456789012:role/byob-team-omega"


class RecordingProxy:
    """A reverse proxy in front of moto that records each request's form body (STS calls)."""

    def __init__(self, upstream: str) -> None:
        import http.client
        import http.server
        import threading

        self.calls: list[dict[str, list[str]]] = []
        target = urllib.parse.urlsplit(upstream)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if b"Action=" in body:
                    proxy.calls.append(urllib.parse.parse_qs(body.decode()))
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def assume_role_calls(self, session: str) -> list[dict[str, list[str]]]:
        return [c for c in self.calls if c.get("RoleSessionName") == [session]]


@pytest.fixture(scope="module")
def proxy(moto_endpoint):
    recording = RecordingProxy(moto_endpoint)
    yield recording
    recording.server.shutdown()


@pytest.fixture(autouse=True)
def _fresh_credentials():
    credentials.clear()
    yield
    credentials.clear()


def role_store(endpoint: str, **fields: str):
    session = f"byob-{uuid.uuid4().hex[:8]}"
    creds = Credentials(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        role_arn=ROLE,
        role_session_name=session,
        **fields,
    )
    return make_store(endpoint, credentials=creds), session


class TestAssumeRole:
    def test_requests_use_the_assumed_roles_credentials(self, proxy) -> None:
        store, session = role_store(proxy.endpoint, external_id="omega-ext-7", role_duration="3600")
        key, _, token = s3.frozen_credentials(s3.Connection.of(store))
        assert key != ACCESS_KEY and token
        [call] = proxy.assume_role_calls(session)
        assert call["Action"] == ["AssumeRole"]
        assert call["RoleArn"] == [ROLE]
        assert call["ExternalId"] == ["omega-ext-7"]
        assert call["DurationSeconds"] == ["3600"]
        identity = s3.client(store, "sts").get_caller_identity()
        assert identity["Arn"].endswith(f"assumed-role/byob-team-omega/{session}")

    def test_signed_urls_carry_the_role_key_and_token(self, moto_endpoint) -> None:
        store, _ = role_store(moto_endpoint)
        key, _, token = s3.frozen_credentials(s3.Connection.of(store))
        [signed] = provider.S3Provider(s3_spec()).sign(
            store, [SignRequest(key="a.bin", expires=dt.timedelta(minutes=5), at=now())]
        )
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(signed.url).query)
        assert query["X-Amz-Credential"][0].startswith(key + "/")
        assert query["X-Amz-Security-Token"] == [token]

    def test_credentials_are_fetched_again_before_they_expire(self, proxy) -> None:
        store, session = role_store(proxy.endpoint, role_duration="3600")
        conn = s3.Connection.of(store)
        first = s3.frozen_credentials(conn)
        again = s3.frozen_credentials(conn)
        assert again == first  # an hour left: no new call
        creds = credentials.credentials_for(conn)
        # 55 minutes later: five minutes before expiry, inside botocore's refresh windows.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=55)
        creds._time_fetcher = lambda: later
        with mock.patch("botocore.credentials._local_now", return_value=later):
            second = s3.frozen_credentials(conn)
        assert second[0] != first[0]
        assert len(proxy.assume_role_calls(session)) == 2

    def test_the_bucket_is_reached_through_the_role(self, moto_endpoint) -> None:
        store, _ = role_store(moto_endpoint)
        s3.client(store).create_bucket(Bucket=store.bucket)
        fs = s3.filesystem(store)  # s3fs on an aiobotocore session with the role
        fs.pipe_file(f"{store.bucket}/by-role.txt", b"assumed")
        assert fs.cat_file(f"{store.bucket}/by-role.txt") == b"assumed"

    def test_a_role_from_the_ambient_chain(self, moto_endpoint) -> None:
        store = make_store(moto_endpoint, credentials=Credentials(role_arn=ROLE))
        key, _, token = s3.frozen_credentials(s3.Connection.of(store))
        assert key != ACCESS_KEY and token

    def test_a_bad_duration_is_a_configuration_problem(self) -> None:
        with pytest.raises(ConfigError, match="role_duration"):
            from_mapping(
                {
                    "instance": {
                        "provider": "aws",
                        "bucket": "b",
                        "role_arn": ROLE,
                        "role_duration": 60,
                    }
                }
            )

    def test_a_refused_assume_role_is_a_store_access_error(self, moto_endpoint) -> None:
        store = make_store(
            moto_endpoint,
            credentials=Credentials(
                access_key=ACCESS_KEY, secret_key=SECRET_KEY, role_arn="not-an-arn"
            ),
        )
        with pytest.raises(StoreAccessError, match="cannot assume role not-an-arn") as info:
            s3.frozen_credentials(s3.Connection.of(store))
        assert SECRET_KEY not in str(info.value)


class TestWebIdentity:
    def test_a_token_file_gets_the_role(self, proxy, tmp_path) -> None:
        token_file = tmp_path / "token"
        token_file.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvbWVnYSJ9.c2ln")
        session = f"byob-{uuid.uuid4().hex[:8]}"
        store = make_store(
            proxy.endpoint,
            credentials=Credentials(
                role_arn=ROLE, web_identity_token_file=str(token_file), role_session_name=session
            ),
        )
        key, _, token = s3.frozen_credentials(s3.Connection.of(store))
        assert key != ACCESS_KEY and token
        [call] = proxy.assume_role_calls(session)
        assert call["Action"] == ["AssumeRoleWithWebIdentity"]
        assert call["WebIdentityToken"] == [token_file.read_text()]
        identity = s3.client(store, "sts").get_caller_identity()
        assert session in identity["Arn"]

    def test_a_missing_token_file_is_refused_by_name(self, moto_endpoint, tmp_path) -> None:
        store = make_store(
            moto_endpoint,
            credentials=Credentials(
                role_arn=ROLE, web_identity_token_file=str(tmp_path / "missing")
            ),
        )
        with pytest.raises(StoreAccessError, match="cannot assume role"):
            s3.frozen_credentials(s3.Connection.of(store))


class TestProfile:
    def test_the_profiles_keys_are_used(self, moto_endpoint, tmp_path, monkeypatch) -> None:
        shared = tmp_path / "credentials"
        shared.write_text(
            "[team-omega]\naws_access_key_id = AKIAPROFILEOMEGA0001\n"
            "aws_secret_access_key = profile/secret/omega\n"
        )
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
        store = make_store(moto_endpoint, credentials=Credentials(profile="team-omega"))
        assert s3.frozen_credentials(s3.Connection.of(store))[:2] == (
            "AKIAPROFILEOMEGA0001",
            "profile/secret/omega",
        )
        s3.client(store).create_bucket(Bucket=store.bucket)
        fs = s3.filesystem(store)
        fs.pipe_file(f"{store.bucket}/p.txt", b"by profile")
        assert fs.cat_file(f"{store.bucket}/p.txt") == b"by profile"

    def test_a_profile_as_the_source_of_a_role(self, moto_endpoint, tmp_path, monkeypatch) -> None:
        shared = tmp_path / "credentials"
        shared.write_text(
            "[src]\naws_access_key_id = AKIAPROFILESRC000001\naws_secret_access_key = s\n"
        )
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
        store = make_store(moto_endpoint, credentials=Credentials(profile="src", role_arn=ROLE))
        key, _, token = s3.frozen_credentials(s3.Connection.of(store))
        assert key not in ("AKIAPROFILESRC000001", ACCESS_KEY) and token

    def test_an_unknown_profile_is_a_configuration_error(self, moto_endpoint) -> None:
        store = make_store(moto_endpoint, credentials=Credentials(profile="nope"))
        with pytest.raises(ConfigError, match="profile 'nope'"):
            s3.frozen_credentials(s3.Connection.of(store))


class TestSaasByRole:
    def test_a_saas_team_bucket_by_role_is_accepted_and_keys_are_not(self) -> None:
        team = {"provider": "aws", "bucket": "omega-ml", "region": "us-east-1"}
        config = from_mapping(
            {"deployment": "saas", "teams": {"omega": {**team, "role_arn": ROLE}}}
        )
        assert config.teams["omega"].credentials.role_arn == ROLE
        with pytest.raises(ConfigError, match="by role"):
            from_mapping(
                {
                    "deployment": "saas",
                    "teams": {"omega": {**team, "access_key": "AKIAX", "secret_key": "y"}},
                }
            )

    def test_validate_reports_the_role(self, moto_endpoint) -> None:
        store, _ = role_store(moto_endpoint)
        s3.client(store).create_bucket(Bucket=store.bucket)
        config = from_mapping({"data_dir": "/tmp/byob-aws-cred-test"})
        config = type(config)(instance=store, data_dir=config.data_dir, deployment="self-managed")
        report = Byob(config).validate(read_only=True)
        [finding] = [f for f in report.findings if f.check == "aws.credentials"]
        assert finding.status.value == "pass"
        assert ROLE in finding.message


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def s3_spec():
    from byob_aws.plugin import SPEC

    return SPEC
