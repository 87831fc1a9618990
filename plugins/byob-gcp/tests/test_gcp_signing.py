"""The V4 signers against their oracles.

RSA: byte-identical to google-cloud-storage's ``blob.generate_signed_url(version="v4")``
for the same key, frozen clock and inputs, over generated object names. HMAC: the
canonical request equals botocore's SigV4 one with the GOOG4 names mapped, and the
signature follows Google's documented key derivation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from unittest import mock
from urllib.parse import quote

import pytest
from byob_core.errors import SigningError, UnsupportedError
from byob_core.signing import SignRequest
from byob_core.stores import Credentials, Store
from byob_gcp import credentials as gcp_credentials
from byob_gcp.plugin import byob_sign
from byob_gcp.signing import HmacSigner, RsaSigner, load_private_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EMAIL = "signer@byob-project.iam.gserviceaccount.com"
BUCKET = "acme-ml"
AT = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
METHODS = st.sampled_from(["GET", "PUT", "HEAD", "DELETE"])
# Names exercise what URLs get wrong: Unicode, spaces, + = & % / and friends.
NAMES = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(" +=&%/?#~*!'()[]:;,@$_-.aZ09")),
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=40,
)
USERS = st.one_of(st.none(), st.text(min_size=0, max_size=20).filter(lambda s: "\x00" not in s))


class Oracle:
    """google-cloud-storage's V4 signer with a frozen clock (imported in tests only)."""

    def __init__(self, pem: str, endpoint: str = "https://storage.googleapis.com") -> None:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage
        from google.oauth2 import service_account

        self.credentials = service_account.Credentials.from_service_account_info(
            {
                "type": "service_account",
                "client_email": EMAIL,
                "private_key": pem,
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
        self.bucket = storage.Client(project="p", credentials=AnonymousCredentials()).bucket(BUCKET)
        self.endpoint = endpoint

    def sign(
        self, name: str, *, method: str, at: dt.datetime, expires: int, **kwargs: object
    ) -> str:
        with mock.patch("google.cloud.storage._signing._NOW", return_value=at):
            return str(
                self.bucket.blob(name).generate_signed_url(
                    version="v4",
                    expiration=dt.timedelta(seconds=expires),
                    method=method,
                    credentials=self.credentials,
                    api_access_endpoint=self.endpoint,
                    **kwargs,
                )
            )


@pytest.fixture(scope="module")
def oracle(rsa_pem: str) -> Oracle:
    return Oracle(rsa_pem)


@pytest.fixture(scope="module")
def rsa_signer(rsa_pem: str) -> RsaSigner:
    return RsaSigner(bucket=BUCKET, service_account=EMAIL, private_key=rsa_pem)


class TestRsaAgainstGoogleCloudStorage:
    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(name=NAMES, method=METHODS, user=USERS, expires=st.integers(1, 7 * 24 * 3600))
    def test_byte_identical_over_generated_names(
        self,
        oracle: Oracle,
        rsa_signer: RsaSigner,
        name: str,
        method: str,
        user: str | None,
        expires: int,
    ) -> None:
        params = {"X-User": user} if user is not None else None
        ours = rsa_signer.sign_url(method, name, at=AT, expires=expires, params=params)
        theirs = oracle.sign(name, method=method, at=AT, expires=expires, query_parameters=params)
        assert ours == theirs

    def test_headers_generation_and_response_overrides(self, oracle: Oracle, rsa_pem: str) -> None:
        store = Store(
            provider="gcp",
            bucket=BUCKET,
            service_account=EMAIL,
            credentials=Credentials(private_key=rsa_pem),
        )
        request = SignRequest(
            key="team/a b+c=d&e%f.bin",
            method="PUT",
            expires=dt.timedelta(hours=24),
            at=AT,
            user="alice@example.com",
            content_type="application/octet-stream",
            content_md5="1B2M2Y8AsgTpgAmY7PhCfg==",
            version_id="1700000000000001",
            response_headers={"response-content-disposition": "attachment"},
        )
        (signed,) = byob_sign(store=store, requests=[request])
        theirs = oracle.sign(
            request.key,
            method="PUT",
            at=AT,
            expires=86400,
            content_type="application/octet-stream",
            content_md5="1B2M2Y8AsgTpgAmY7PhCfg==",
            generation="1700000000000001",
            response_disposition="attachment",
            query_parameters={"X-User": "alice@example.com"},
        )
        assert signed.url == theirs
        assert dict(signed.headers) == {
            "Content-Type": "application/octet-stream",
            "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
        }
        assert signed.expires_at == AT + dt.timedelta(hours=24)

    def test_multipart_part_url_matches(self, oracle: Oracle, rsa_signer: RsaSigner) -> None:
        params = {"partNumber": "3", "uploadId": "ABC/def+=="}
        ours = rsa_signer.sign_url("PUT", "big/file.bin", at=AT, expires=3600, params=params)
        assert ours == oracle.sign(
            "big/file.bin", method="PUT", at=AT, expires=3600, query_parameters=params
        )

    def test_custom_endpoint_matches(self, rsa_pem: str) -> None:
        endpoint = "http://127.0.0.1:4443"
        signer = RsaSigner(
            bucket=BUCKET, service_account=EMAIL, private_key=rsa_pem, endpoint=endpoint
        )
        expected = Oracle(rsa_pem, endpoint).sign("k", method="GET", at=AT, expires=60)
        assert signer.sign_url("GET", "k", at=AT, expires=60) == expected

    def test_pem_with_escaped_newlines_loads(self, rsa_pem: str) -> None:
        escaped = rsa_pem.replace("\n", "\\n")
        a = RsaSigner(bucket=BUCKET, service_account=EMAIL, private_key=escaped)
        b = RsaSigner(bucket=BUCKET, service_account=EMAIL, private_key=rsa_pem)
        assert a.sign_url("GET", "k", at=AT, expires=60) == b.sign_url(
            "GET", "k", at=AT, expires=60
        )

    def test_bad_key_is_a_signing_error_without_the_key(self) -> None:
        bogus = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n"
        with pytest.raises(SigningError) as info:
            load_private_key(bogus)
        assert "bm90IGEga2V5" not in str(info.value)

    def test_lifetime_over_seven_days_is_refused(self, rsa_signer: RsaSigner) -> None:
        with pytest.raises(SigningError):
            rsa_signer.sign_url("GET", "k", at=AT, expires=7 * 24 * 3600 + 1)


def _botocore_canonical(
    method: str, name: str, params: dict[str, str], expires: int, at: dt.datetime
) -> str:
    """botocore's SigV4 presign canonical request for the same request, GOOG4 names mapped."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    auth = S3SigV4QueryAuth(BotoCredentials("GOOG1ACCESS", "secret"), "storage", "auto", expires)
    url = f"https://storage.googleapis.com/{BUCKET}/{quote(name, safe='/~')}"
    request = AWSRequest(method=method, url=url, params=dict(params))
    request.context["timestamp"] = at.strftime("%Y%m%dT%H%M%SZ")
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    return (
        canonical.replace("X-Amz-", "X-Goog-")
        .replace("AWS4-HMAC-SHA256", "GOOG4-HMAC-SHA256")
        .replace("%2Fstorage%2Faws4_request", "%2Fstorage%2Fgoog4_request")
    )


def _documented_signature(secret: str, string_to_sign: bytes, day: str) -> str:
    """Google's GOOG4-HMAC-SHA256 key derivation, written out step by step."""
    k_date = hmac.new(("GOOG4" + secret).encode(), day.encode(), hashlib.sha256).digest()
    k_region = hmac.new(k_date, b"auto", hashlib.sha256).digest()
    k_service = hmac.new(k_region, b"storage", hashlib.sha256).digest()
    k_signing = hmac.new(k_service, b"goog4_request", hashlib.sha256).digest()
    return hmac.new(k_signing, string_to_sign, hashlib.sha256).hexdigest()


class TestHmac:
    @settings(max_examples=60, deadline=None)
    @given(name=NAMES, method=METHODS, user=USERS, expires=st.integers(1, 7 * 24 * 3600))
    def test_canonical_request_equals_botocore_sigv4(
        self, name: str, method: str, user: str | None, expires: int
    ) -> None:
        signer = HmacSigner(bucket=BUCKET, access_id="GOOG1ACCESS", secret="secret")
        params = {"X-User": user} if user is not None else {}
        _, _, canonical, _ = signer.canonical(method, name, at=AT, expires=expires, params=params)
        assert canonical == _botocore_canonical(method, name, params, expires, AT)

    def test_signature_follows_documented_derivation(self) -> None:
        signer = HmacSigner(bucket=BUCKET, access_id="GOOG1ACCESS", secret="s3cr3t/+=")
        url = signer.sign_url("GET", "a/b c.txt", at=AT, expires=900, params={"X-User": "bob"})
        _, query, _, string_to_sign = signer.canonical(
            "GET", "a/b c.txt", at=AT, expires=900, params={"X-User": "bob"}
        )
        expected = _documented_signature("s3cr3t/+=", string_to_sign, "20260304")
        assert url.endswith(f"?{query}&X-Goog-Signature={expected}")
        assert "X-Goog-Algorithm=GOOG4-HMAC-SHA256" in url
        assert "X-Goog-Credential=GOOG1ACCESS%2F20260304%2Fauto%2Fstorage%2Fgoog4_request" in url

    def test_signing_key_rolls_over_at_midnight(self) -> None:
        signer = HmacSigner(bucket=BUCKET, access_id="GOOG1ACCESS", secret="secret")
        late = dt.datetime(2026, 3, 4, 23, 59, 59, tzinfo=dt.UTC)
        early = late + dt.timedelta(seconds=2)
        for at in (late, early, late):
            url = signer.sign_url("GET", "k", at=at, expires=60)
            _, _, _, sts = signer.canonical("GET", "k", at=at, expires=60)
            day = at.strftime("%Y%m%d")
            assert url.endswith(_documented_signature("secret", sts, day))

    def test_hmac_store_signs_through_the_hook(self) -> None:
        store = Store(
            provider="gcp",
            bucket=BUCKET,
            credentials=Credentials(access_key="GOOG1ACCESS", secret_key="secret"),
        )
        request = SignRequest(
            key="x", method="GET", expires=dt.timedelta(seconds=60), at=AT, user="u"
        )
        (signed,) = byob_sign(store=store, requests=[request])
        assert "X-Goog-Algorithm=GOOG4-HMAC-SHA256" in signed.url
        assert "X-User=u" in signed.url


class TestCredentialSources:
    def test_key_file_signs_like_the_connection_string(self, tmp_path, rsa_pem: str) -> None:
        import json

        path = tmp_path / "key.json"
        path.write_text(
            json.dumps({"type": "service_account", "client_email": EMAIL, "private_key": rsa_pem})
        )
        by_file = Store(provider="gcp", bucket=BUCKET, options={"key_file": str(path)})
        by_uri = Store(
            provider="gcp",
            bucket=BUCKET,
            service_account=EMAIL,
            credentials=Credentials(private_key=rsa_pem),
        )
        request = SignRequest(key="k", expires=dt.timedelta(seconds=60), at=AT)
        assert byob_sign(store=by_file, requests=[request]) == byob_sign(
            store=by_uri, requests=[request]
        )

    def test_signer_is_built_once_per_store(self, rsa_pem: str) -> None:
        store = Store(
            provider="gcp",
            bucket="cache-check",
            service_account=EMAIL,
            credentials=Credentials(private_key=rsa_pem),
        )
        assert gcp_credentials.signer_for(store) is gcp_credentials.signer_for(store)

    def test_no_key_material_is_unsupported(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
        store = Store(provider="gcp", bucket="adc-only")
        with pytest.raises(UnsupportedError):
            byob_sign(
                store=store,
                requests=[SignRequest(key="k", expires=dt.timedelta(seconds=60), at=AT)],
            )

    def test_signer_repr_holds_no_secret(self) -> None:
        signer = HmacSigner(bucket=BUCKET, access_id="GOOG1ACCESS", secret="very-secret-value")
        assert "very-secret-value" not in repr(signer)


class TestQuoting:
    @given(text=st.text(max_size=30))
    def test_fast_quoting_equals_urllib(self, text: str) -> None:
        from byob_gcp.signing import _q, _quote_path

        encoded = text.encode("utf-8", "surrogatepass")
        assert _q(text) == quote(encoded, safe="~")
        assert _quote_path(text) == quote(encoded, safe="/~")


class TestParallelRsaBatch:
    def test_large_batch_equals_one_by_one_in_order(
        self, rsa_signer: RsaSigner, oracle: Oracle
    ) -> None:
        from byob_gcp.signing import PARALLEL_THRESHOLD, V4Signer

        times = [AT, AT + dt.timedelta(days=1), AT + dt.timedelta(seconds=1)]
        requests = [
            SignRequest(
                key=f"k/{i} ü",
                method="PUT" if i % 2 else "GET",
                at=times[i % 3],
                expires=dt.timedelta(seconds=60 + i),
                user=f"u{i}",
            )
            for i in range(PARALLEL_THRESHOLD * 3 + 1)
        ]
        batch = rsa_signer.sign_many(requests)
        assert batch == V4Signer.sign_many(rsa_signer, requests)
        assert [s.key for s in batch] == [r.key for r in requests]
        last = requests[-1]
        assert batch[-1].url == oracle.sign(
            last.key,
            method=last.method,
            at=last.at,
            expires=int(last.expires.total_seconds()),
            query_parameters={"X-User": last.user},
        )


class TestPreparedSigner:
    """`V4Signer.prepare` (the `byob_signer` fast path): the same URLs as the SDK and `sign`."""

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(name=NAMES, method=METHODS, user=USERS, expires=st.integers(1, 7 * 24 * 3600))
    def test_rsa_byte_identical_to_google_cloud_storage(
        self,
        oracle: Oracle,
        rsa_signer: RsaSigner,
        name: str,
        method: str,
        user: str | None,
        expires: int,
    ) -> None:
        lifetime = dt.timedelta(seconds=expires)
        (signed,) = rsa_signer.prepare(method, lifetime).sign_keys([name], at=AT, user=user)
        params = {"X-User": user} if user is not None else None
        assert signed.url == oracle.sign(
            name, method=method, at=AT, expires=expires, query_parameters=params
        )
        request = SignRequest(key=name, method=method, at=AT, expires=lifetime, user=user)
        assert signed == rsa_signer.sign(request)

    @settings(max_examples=100, deadline=None)
    @given(name=NAMES, method=METHODS, user=USERS, expires=st.integers(1, 7 * 24 * 3600))
    def test_hmac_equals_the_request_path(
        self, name: str, method: str, user: str | None, expires: int
    ) -> None:
        signer = HmacSigner(bucket=BUCKET, access_id="GOOG1ACCESS", secret="secret")
        lifetime = dt.timedelta(seconds=expires)
        request = SignRequest(key=name, method=method, at=AT, expires=lifetime, user=user)
        (signed,) = signer.prepare(method, lifetime).sign_keys([name], at=AT, user=user)
        assert signed == signer.sign(request)

    def test_every_call_in_a_new_second(self) -> None:
        from byob_core import signing

        signer = HmacSigner(bucket=BUCKET, access_id="GOOG1ACCESS", secret="secret")
        prepared = signer.prepare("GET", dt.timedelta(minutes=5))
        start = int(AT.timestamp())
        offsets = [0, 1, 52, 53, 53, 54, 113, 43200, 86400, 86400 + 7, 3 * 86400]
        ticks = [start + o + 0.25 for o in offsets]
        with mock.patch.object(signing, "clock", side_effect=ticks):
            got = [prepared.sign_keys(["a b"], user="u")[0] for _ in offsets]
        for offset, signed in zip(offsets, got, strict=True):
            at = dt.datetime.fromtimestamp(start + offset, dt.UTC)
            request = SignRequest(
                key="a b", method="GET", at=at, expires=dt.timedelta(minutes=5), user="u"
            )
            assert signed == signer.sign(request)

    def test_large_rsa_batch_is_parallel_and_in_order(self, rsa_signer: RsaSigner) -> None:
        from byob_gcp.signing import PARALLEL_THRESHOLD

        names = [f"k/{i} ü" for i in range(PARALLEL_THRESHOLD * 3 + 1)]
        lifetime = dt.timedelta(hours=1)
        got = rsa_signer.prepare("PUT", lifetime).sign_keys(names, at=AT, user="bob")
        want = [
            rsa_signer.sign(SignRequest(key=n, method="PUT", at=AT, expires=lifetime, user="bob"))
            for n in names
        ]
        assert got == want

    def test_lifetime_over_seven_days_is_refused(self, rsa_signer: RsaSigner) -> None:
        with pytest.raises(SigningError, match="1 to 604800 seconds"):
            rsa_signer.prepare("GET", dt.timedelta(days=8))
