"""Differential tests of the SigV4 pre-signer against botocore, the oracle, under a frozen clock."""

from __future__ import annotations

import datetime as dt
import functools
import subprocess
import sys
from unittest import mock

from byob_aws.sigv4 import Presigner, S3Endpoint
from byob_core import keys
from byob_core.signing import SignRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AT = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)

RESPONSE_PARAMS = {
    "response-content-disposition": "ResponseContentDisposition",
    "response-content-type": "ResponseContentType",
    "response-cache-control": "ResponseCacheControl",
    "response-content-language": "ResponseContentLanguage",
    "response-content-encoding": "ResponseContentEncoding",
}


@functools.cache
def oracle_client(region: str, endpoint_url: str | None, path_style: bool, token: str | None):
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session()
    session.set_credentials(AK, SK, token)
    return session.create_client(
        "s3",
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if path_style else "virtual"},
        ),
    )


def oracle(
    *,
    bucket: str,
    region: str,
    endpoint_url: str | None,
    path_style: bool,
    token: str | None,
    request: SignRequest,
    user_param: str = "X-User",
) -> str:
    """botocore's URL for the same request; the user parameter goes in through before-sign."""
    client = oracle_client(region, endpoint_url, path_style, token)
    params: dict[str, object] = {"Bucket": bucket, "Key": request.key}
    if request.method == "GET":
        op = "get_object"
        if request.version_id is not None:
            params["VersionId"] = request.version_id
        for name, value in request.response_headers.items():
            params[RESPONSE_PARAMS[name]] = value
    elif request.method == "HEAD":
        op = "head_object"
        if request.version_id is not None:
            params["VersionId"] = request.version_id
    elif request.method == "DELETE":
        op = "delete_object"
        if request.version_id is not None:
            params["VersionId"] = request.version_id
    elif request.params:
        op = "upload_part"
        params["PartNumber"] = int(request.params["partNumber"])
        params["UploadId"] = request.params["uploadId"]
        if request.content_md5:
            params["ContentMD5"] = request.content_md5
    else:
        op = "put_object"
        if request.content_type:
            params["ContentType"] = request.content_type
        if request.content_md5:
            params["ContentMD5"] = request.content_md5

    def add_user(**kwargs):
        kwargs["request"].params[user_param] = request.user

    event = f"before-sign.s3.{client.meta.method_to_api_mapping[op]}"
    if request.user is not None:
        client.meta.events.register(event, add_user, unique_id="byob-user")
    try:
        with mock.patch(
            "botocore.auth.get_current_datetime", return_value=request.at.replace(tzinfo=None)
        ):
            return client.generate_presigned_url(
                op, Params=params, ExpiresIn=int(request.expires.total_seconds())
            )
    finally:
        client.meta.events.unregister(event, unique_id="byob-user")


def ours(*, bucket, region, endpoint_url, path_style, token, request, user_param="X-User"):
    presigner = Presigner(
        access_key=AK,
        secret_key=SK,
        session_token=token,
        region=region,
        endpoint=S3Endpoint.for_bucket(
            bucket, region, endpoint_url=endpoint_url, path_style=path_style
        ),
        user_param=user_param,
    )
    return presigner.sign(request)


FRAGMENTS = [
    "a",
    "b c",
    "+",
    "=",
    "&",
    "%",
    "%2F",
    "é",
    "日本",
    "~",
    "'",
    "(x)",
    "!*",
    "?",
    "#",
    "@",
    ";:,$",
]
segment = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4).map("".join),
)
object_keys = (
    st.lists(segment, min_size=1, max_size=4)
    .map("/".join)
    .filter(lambda k: len(k.encode()) <= 1024)
    .filter(lambda k: _safe(k))
)


def _safe(key: str) -> bool:
    try:
        keys.check(key)
    except ValueError:
        return False
    return True


places = st.sampled_from(
    [
        ("acme-ml", "us-east-1", None, False),
        ("acme-ml", "us-east-1", None, True),
        ("acme-ml", "eu-central-1", None, False),
        ("acme-ml", "us-west-2", None, True),
        ("my.dotted.bucket", "us-west-2", None, False),
        ("acme-ml", "us-east-1", "http://127.0.0.1:5000", False),
        ("acme-ml", "us-east-1", "http://127.0.0.1:5000", True),
        ("acme-ml", "us-west-2", "https://minio.example.com:9000", False),
        ("acme-ml", "us-west-2", "https://minio.example.com:9000", True),
        ("acme-ml", "us-east-1", "https://objects.example.com", False),
        ("acme-ml", "us-east-1", "http://objects.example.com:80", True),
    ]
)
tokens = st.one_of(st.none(), st.sampled_from(["FQoGZXIvYXdzE+/token=", "tok en/+=%"]))
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
md5s = st.sampled_from(["1B2M2Y8AsgTpgAmY7PhCfg==", "XrY7u+Ae7tCTyyK7j1rNww=="])


@st.composite
def sign_requests(draw):
    method = draw(st.sampled_from(["GET", "PUT", "HEAD", "DELETE", "PART"]))
    key = draw(object_keys)
    fields: dict[str, object] = {
        "key": key,
        "at": draw(
            st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1))
        ).replace(microsecond=0, tzinfo=dt.UTC),
        "expires": dt.timedelta(seconds=draw(st.integers(1, 7 * 24 * 3600))),
        "user": draw(st.one_of(st.none(), texts)),
    }
    if method in ("GET", "HEAD", "DELETE"):
        fields["method"] = method
        fields["version_id"] = draw(st.one_of(st.none(), texts.filter(bool)))
        if method == "GET":
            names = draw(
                st.lists(st.sampled_from(sorted(RESPONSE_PARAMS)), unique=True, max_size=3)
            )
            fields["response_headers"] = {n: draw(texts.filter(bool)) for n in names}
    elif method == "PUT":
        fields["method"] = "PUT"
        fields["content_type"] = draw(
            st.one_of(
                st.none(),
                st.sampled_from(["application/octet-stream", "text/plain; charset=utf-8"]),
            )
        )
        fields["content_md5"] = draw(st.one_of(st.none(), md5s))
    else:
        fields["method"] = "PUT"
        fields["params"] = {
            "partNumber": str(draw(st.integers(1, 10_000))),
            "uploadId": draw(texts.filter(bool)),
        }
        fields["content_md5"] = draw(st.one_of(st.none(), md5s))
    return SignRequest(**fields)


class TestAgainstBotocore:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(place=places, token=tokens, request=sign_requests())
    def test_urls_are_byte_identical(self, place, token, request):
        bucket, region, endpoint_url, path_style = place
        args = dict(
            bucket=bucket,
            region=region,
            endpoint_url=endpoint_url,
            path_style=path_style,
            token=token,
            request=request,
        )
        signed = ours(**args)
        assert signed.url == oracle(**args)
        assert signed.method == request.method
        assert signed.expires_at == request.at + request.expires

    def test_literal_percent_2f_stays_distinct_from_a_slash(self):
        request = SignRequest(key="a%2Fb/c", at=AT, expires=dt.timedelta(hours=1))
        args = dict(
            bucket="acme-ml",
            region="us-east-1",
            endpoint_url=None,
            path_style=False,
            token=None,
            request=request,
        )
        url = ours(**args).url
        assert url.startswith("https://acme-ml.s3.amazonaws.com/a%252Fb/c?")
        assert url == oracle(**args)

    def test_upload_headers_are_reported(self):
        request = SignRequest(
            key="k",
            method="PUT",
            at=AT,
            expires=dt.timedelta(hours=1),
            content_md5="1B2M2Y8AsgTpgAmY7PhCfg==",
            content_type="application/octet-stream",
        )
        signed = ours(
            bucket="acme-ml",
            region="us-east-1",
            endpoint_url=None,
            path_style=False,
            token=None,
            request=request,
        )
        assert signed.header_lines() == [
            "Content-MD5:1B2M2Y8AsgTpgAmY7PhCfg==",
            "Content-Type:application/octet-stream",
        ]
        assert "X-Amz-SignedHeaders=content-md5%3Bcontent-type%3Bhost" in signed.url

    def test_another_user_param_name(self):
        request = SignRequest(key="k", at=AT, expires=dt.timedelta(hours=1), user="ann")
        args = dict(
            bucket="acme-ml",
            region="us-west-2",
            endpoint_url=None,
            path_style=True,
            token=None,
            request=request,
            user_param="x-user-id",
        )
        assert ours(**args).url == oracle(**args)

    def test_a_batch_signs_each_request_in_order(self):
        presigner = Presigner(
            access_key=AK,
            secret_key=SK,
            region="us-east-1",
            endpoint=S3Endpoint.for_bucket("acme-ml", "us-east-1"),
        )
        requests = [
            SignRequest(key=f"k{i}", at=AT, expires=dt.timedelta(hours=1)) for i in range(5)
        ]
        signed = presigner.sign_many(requests)
        assert [s.key for s in signed] == [r.key for r in requests]
        assert [s.url for s in signed] == [presigner.sign(r).url for r in requests]
        assert len({s.url for s in signed}) == 5


class TestSecrets:
    def test_repr_shows_no_secret(self):
        presigner = Presigner(
            access_key=AK,
            secret_key=SK,
            session_token="sessiontok",
            region="us-east-1",
            endpoint=S3Endpoint.for_bucket("acme-ml", "us-east-1"),
        )
        assert SK not in repr(presigner)
        assert "sessiontok" not in repr(presigner)

    def test_signing_does_not_import_botocore(self):
        code = (
            "import sys, datetime as dt\n"
            "from byob_aws.sigv4 import Presigner, S3Endpoint\n"
            "from byob_core.signing import SignRequest\n"
            "p = Presigner(access_key='a', secret_key='b', region='us-east-1',"
            " endpoint=S3Endpoint.for_bucket('x-y-z', 'us-east-1'))\n"
            "p.sign(SignRequest(key='k', expires=dt.timedelta(seconds=5)))\n"
            "bad = [m for m in ('botocore', 'boto3', 's3fs', 'aiobotocore') if m in sys.modules]\n"
            "print(','.join(bad))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == ""

    def test_the_sign_hook_does_not_import_botocore(self):
        code = (
            "import sys, datetime as dt\n"
            "from byob_aws import plugin\n"
            "from byob_core.signing import SignRequest\n"
            "from byob_core.stores import Credentials, Store\n"
            "store = Store(provider='aws', bucket='x-y-z', region='us-west-2',"
            " credentials=Credentials(access_key='a', secret_key='b'))\n"
            "(s,) = plugin.byob_sign(store=store, requests=[SignRequest(key='k',"
            " expires=dt.timedelta(seconds=5))])\n"
            "assert s.url.startswith('https://x-y-z.s3.us-west-2.amazonaws.com/k?'), s.url\n"
            "bad = [m for m in ('botocore', 'boto3', 's3fs', 'aiobotocore') if m in sys.modules]\n"
            "print(','.join(bad))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == ""


class TestQuoting:
    @settings(max_examples=500, deadline=None)
    @given(text=st.text())
    def test_path_and_query_quoting_match_urllib(self, text):
        from urllib.parse import quote

        from byob_aws.sigv4 import _q, quote_path

        try:
            text.encode()
        except UnicodeEncodeError:
            return  # lone surrogates cannot be keys
        assert quote_path(text) == quote(text, safe="/~")
        assert _q(text) == quote(text, safe="-_.~")

    def test_presign_many_gives_the_urls_of_sign(self):
        presigner = Presigner(
            access_key=AK,
            secret_key=SK,
            region="us-east-1",
            endpoint=S3Endpoint.for_bucket("acme-ml", "us-east-1"),
        )
        keys_ = ["a", "b c", "ü/+"]
        urls = presigner.presign_many("GET", keys_, expires=dt.timedelta(hours=1), at=AT)
        expected = [
            presigner.sign(SignRequest(key=k, at=AT, expires=dt.timedelta(hours=1))).url
            for k in keys_
        ]
        assert urls == expected


class TestClock:
    def test_without_a_time_the_url_date_and_expiry_agree(self):
        from urllib.parse import parse_qs, urlsplit

        presigner = Presigner(
            access_key=AK,
            secret_key=SK,
            region="us-east-1",
            endpoint=S3Endpoint.for_bucket("acme-ml", "us-east-1"),
        )
        signed = presigner.sign(SignRequest(key="k", expires=dt.timedelta(seconds=90)))
        query = parse_qs(urlsplit(signed.url).query)
        stamp = dt.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=dt.UTC
        )
        assert query["X-Amz-Expires"] == ["90"]
        assert signed.expires_at == stamp + dt.timedelta(seconds=90)


@st.composite
def plain_requests(draw):
    """What `byob_signer` signs: a method, a key, a time, a lifetime and maybe a user."""
    return SignRequest(
        key=draw(object_keys),
        method=draw(st.sampled_from(["GET", "PUT", "HEAD", "DELETE"])),
        at=draw(
            st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1))
        ).replace(microsecond=0, tzinfo=dt.UTC),
        expires=dt.timedelta(seconds=draw(st.integers(1, 7 * 24 * 3600))),
        user=draw(st.one_of(st.none(), texts)),
    )


def prepared(*, bucket, region, endpoint_url, path_style, token, request, user_param="X-User"):
    presigner = Presigner(
        access_key=AK,
        secret_key=SK,
        session_token=token,
        region=region,
        endpoint=S3Endpoint.for_bucket(
            bucket, region, endpoint_url=endpoint_url, path_style=path_style
        ),
        user_param=user_param,
    )
    signer = presigner.prepare(request.method, request.expires)
    return signer.sign_keys([request.key], at=request.at, user=request.user)[0]


class TestPreparedAgainstBotocore:
    """`Presigner.prepare` (the `byob_signer` fast path) against the same oracle."""

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        place=places,
        token=tokens,
        request=plain_requests(),
        # "X-User" sorts after the X-Amz-* pairs; "A-User" and "X-Amz-Zone" do not.
        user_param=st.sampled_from(["X-User", "A-User", "X-Amz-Zone", "x-user"]),
    )
    def test_urls_are_byte_identical(self, place, token, request, user_param):
        bucket, region, endpoint_url, path_style = place
        args = dict(
            bucket=bucket,
            region=region,
            endpoint_url=endpoint_url,
            path_style=path_style,
            token=token,
            request=request,
            user_param=user_param,
        )
        signed = prepared(**args)
        assert signed.url == oracle(**args)
        assert signed == ours(**args)
        assert signed.expires_at == request.at + request.expires

    def test_every_call_in_a_new_second(self):
        """The per-second templates are rebuilt when the clock moves (a fake clock here)."""
        from byob_core import signing

        presigner = Presigner(
            access_key=AK,
            secret_key=SK,
            region="us-east-1",
            endpoint=S3Endpoint.for_bucket("acme-ml", "us-east-1"),
        )
        signer = presigner.prepare("GET", dt.timedelta(hours=1))
        start = int(AT.timestamp())
        # Seconds, a minute boundary, the same second twice, and new dates (new keys).
        offsets = [0, 1, 52, 53, 53, 54, 113, 43200, 86400, 86400 + 7, 3 * 86400]
        ticks = [start + o + 0.5 for o in offsets]
        with mock.patch.object(signing, "clock", side_effect=ticks):
            urls = [signer.sign_keys(["a b"], user="u")[0] for _ in offsets]
        for offset, signed in zip(offsets, urls, strict=True):
            at = dt.datetime.fromtimestamp(start + offset, dt.UTC)
            request = SignRequest(key="a b", at=at, expires=dt.timedelta(hours=1), user="u")
            assert signed == presigner.sign(request)

    def test_a_batch_shares_one_time(self):
        presigner = Presigner(
            access_key=AK,
            secret_key=SK,
            region="eu-west-1",
            endpoint=S3Endpoint.for_bucket("acme-ml", "eu-west-1"),
        )
        keys_ = [f"k/{i} é" for i in range(50)]
        got = presigner.prepare("PUT", dt.timedelta(days=1)).sign_keys(keys_, at=AT)
        want = presigner.sign_many(
            [SignRequest(key=k, method="PUT", at=AT, expires=dt.timedelta(days=1)) for k in keys_]
        )
        assert got == want
