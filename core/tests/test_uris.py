"""Connection strings (docs/connection-strings.md): every documented form parses, formats back to an equal
store, and no error, repr or str ever shows a secret."""

from __future__ import annotations

import string
from urllib.parse import quote

import attrs
import pytest
from byob_core import keys, uris
from byob_core.errors import UnsafeKeyError, UriError
from byob_core.stores import Credentials, Store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NO_ENV: dict[str, str] = {}
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY=="
ENCODED = quote(SECRET, safe="")
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7/+abc=\n"
    "q8WmZ0pyHnB2xw3f4h1Jz0Ks9Gz+/Wm7q3oLr1cQeZ9u==\n"
    "-----END PRIVATE KEY-----\n"
)
SA = "byob-test@acme-project.iam.gserviceaccount.com"


def parse(uri: str, **environ: str) -> Store:
    return uris.parse(uri, environ=environ)


def same(a: Store, b: Store) -> bool:
    """Store equality including credentials (Store's own __eq__ ignores them on purpose)."""
    return a == b and a.credentials == b.credentials and a.to_dict() == b.to_dict()


class TestS3CompatibleForm:
    def test_the_seed_example_with_the_second_question_mark(self) -> None:
        store = parse(
            f"s3://AKIAEXAMPLE:{ENCODED}@minio.local:9000/ml-bucket?region=us-east-1?tls=true"
        )
        assert store.scheme == "s3"
        assert store.provider == "minio"
        assert store.endpoint == "minio.local:9000"
        assert store.bucket == "ml-bucket"
        assert store.region == "us-east-1"
        assert store.tls is True
        assert store.credentials.access_key == "AKIAEXAMPLE"
        assert store.credentials.secret_key == SECRET

    def test_the_ampersand_form_means_the_same(self) -> None:
        old = parse(f"s3://AK:{ENCODED}@minio.local:9000/b?region=eu-west-2?tls=true")
        new = parse(f"s3://AK:{ENCODED}@minio.local:9000/b?region=eu-west-2&tls=true")
        assert same(old, new)

    def test_tls_defaults_to_false_for_an_s3_compatible_endpoint(self) -> None:
        assert parse("s3://AK:SKSKSKSK@minio:9000/b?region=r").tls is False

    def test_custom_endpoints_default_to_path_style(self) -> None:
        assert parse("s3://AK:SKSKSKSK@minio:9000/b?region=r").path_style is True

    @pytest.mark.parametrize(("value", "expected"), [("false", False), ("true", True)])
    def test_force_path_style_may_be_given(self, value: str, expected: bool) -> None:
        store = parse(f"s3://AK:SKSKSKSK@minio:9000/b?region=r&forcePathStyle={value}")
        assert store.path_style is expected

    def test_the_sub_path_follows_the_bucket_with_slashes_trimmed(self) -> None:
        store = parse("s3://AK:SKSKSKSK@minio:9000/b//teams/omega///?region=r")
        assert store.bucket == "b"
        assert store.subpath == "teams/omega"

    def test_a_sub_path_may_contain_an_at_sign(self) -> None:
        assert parse("s3://bkt/users/ada@example.com").subpath == "users/ada@example.com"
        store = parse("s3://AK:SKSKSKSK@minio:9000/b/users/ada%40example.com?region=r")
        assert store.subpath == "users/ada@example.com"

    def test_region_is_required_and_the_error_says_how_to_add_it(self) -> None:
        with pytest.raises(UriError, match=r"region is required.*minio:9000.*\?region="):
            parse("s3://AK:SKSKSKSK@minio:9000/b")

    def test_region_falls_back_to_aws_region_of_the_environment(self) -> None:
        assert (
            parse("s3://AK:SKSKSKSK@minio:9000/b", AWS_REGION="eu-central-1").region
            == "eu-central-1"
        )

    def test_a_region_in_the_query_wins_over_aws_region(self) -> None:
        store = parse("s3://AK:SKSKSKSK@minio:9000/b?region=ap-south-1", AWS_REGION="eu-central-1")
        assert store.region == "ap-south-1"

    def test_the_environ_argument_isolates_from_the_process_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_REGION", "eu-central-1")
        with pytest.raises(UriError, match="region is required"):
            parse("s3://AK:SKSKSKSK@minio:9000/b")
        assert uris.parse("s3://AK:SKSKSKSK@minio:9000/b").region == "eu-central-1"

    def test_endpoint_as_a_parameter_with_the_ambient_identity(self) -> None:
        store = parse("s3://b/sub?endpoint=https://minio.example:9000&region=r")
        assert (store.provider, store.endpoint, store.tls, store.bucket, store.subpath) == (
            "minio",
            "minio.example:9000",
            True,
            "b",
            "sub",
        )
        assert not store.credentials


class TestAwsForms:
    def test_the_regional_endpoint_gives_the_region(self) -> None:
        store = parse(f"s3://AKIAEXAMPLE:{ENCODED}@s3.eu-west-1.amazonaws.com/acme-ml/wandb")
        assert (store.provider, store.region, store.bucket, store.subpath) == (
            "aws",
            "eu-west-1",
            "acme-ml",
            "wandb",
        )
        assert store.tls is True
        assert store.path_style is False

    def test_the_global_endpoint_means_us_east_1(self) -> None:
        assert parse("s3://AK:SKSKSKSK@s3.amazonaws.com/acme").region == "us-east-1"

    def test_a_query_region_wins_over_the_endpoint(self) -> None:
        assert (
            parse("s3://AK:SKSKSKSK@s3.eu-west-1.amazonaws.com/acme?region=us-west-2").region
            == "us-west-2"
        )

    def test_aws_region_does_not_override_the_endpoint(self) -> None:
        store = parse("s3://AK:SKSKSKSK@s3.eu-west-1.amazonaws.com/acme", AWS_REGION="us-east-2")
        assert store.region == "eu-west-1"

    @pytest.mark.parametrize(
        ("host", "region"),
        [
            ("s3.us-west-2.amazonaws.com", "us-west-2"),
            ("s3-eu-west-1.amazonaws.com", "eu-west-1"),
            ("s3.dualstack.ap-southeast-2.amazonaws.com", "ap-southeast-2"),
            ("s3.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
            ("s3.cn-north-1.amazonaws.com.cn", "cn-north-1"),
            ("S3.EU-WEST-3.AMAZONAWS.COM", "eu-west-3"),
        ],
    )
    def test_aws_hosts_are_provider_aws(self, host: str, region: str) -> None:
        store = parse(f"s3://AK:SKSKSKSK@{host}/b")
        assert (store.provider, store.region) == ("aws", region)

    @pytest.mark.parametrize(
        "host",
        [
            "minio.local:9000",
            "s3.example.com",
            "amazonaws.com.evil.test",
            "127.0.0.1:9000",
            "storage.googleapis.com",
        ],
    )
    def test_any_other_host_is_provider_minio(self, host: str) -> None:
        assert parse(f"s3://AK:SKSKSKSK@{host}/b?region=r").provider == "minio"

    def test_bucket_only_is_aws_with_the_ambient_identity(self) -> None:
        store = parse("s3://acme-ml/wandb/")
        assert (store.provider, store.bucket, store.subpath, store.region) == (
            "aws",
            "acme-ml",
            "wandb",
            None,
        )
        assert not store.credentials
        assert store.endpoint is None

    def test_bucket_only_takes_a_region(self) -> None:
        assert parse("s3://acme-ml?region=eu-north-1").region == "eu-north-1"


class TestAzureForm:
    KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

    def test_empty_user_and_url_encoded_key_with_slash_plus_and_equals(self) -> None:
        store = parse(f"az://:{quote(self.KEY, safe='')}@acmestorage/wandb-container/teams/omega/")
        assert (store.scheme, store.provider) == ("az", "azure")
        assert store.account == "acmestorage"
        assert store.container == store.bucket == "wandb-container"
        assert store.subpath == "teams/omega"
        assert store.credentials.account_key == self.KEY
        assert store.tls is True

    def test_a_user_name_is_refused(self) -> None:
        with pytest.raises(UriError, match="empty user name"):
            parse(f"az://admin:{quote(self.KEY, safe='')}@acct/c")

    def test_no_container_is_refused_naming_the_account(self) -> None:
        with pytest.raises(UriError, match="no container after the account 'acct'"):
            parse("az://:abcdefgh@acct")

    def test_without_a_key_the_ambient_identity_is_used(self) -> None:
        store = parse("az://acct/c")
        assert not store.credentials
        assert store.account == "acct"

    def test_an_azurite_endpoint_with_http(self) -> None:
        store = parse("az://:abcdefgh@devstoreaccount1/c?endpoint=http://127.0.0.1:10000")
        assert (store.endpoint, store.tls) == ("127.0.0.1:10000", False)


class TestGcsForm:
    def test_service_account_email_with_its_own_at_and_a_pem_key_with_newlines(self) -> None:
        store = parse(f"gs://{SA}:{quote(PEM, safe='')}@acme-bucket/wandb/runs")
        assert (store.scheme, store.provider, store.bucket, store.subpath) == (
            "gs",
            "gcp",
            "acme-bucket",
            "wandb/runs",
        )
        assert store.service_account == SA
        assert store.credentials.private_key == PEM
        assert "\n" in store.credentials.private_key

    def test_hmac_keys_without_an_email(self) -> None:
        store = parse(f"gs://GOOG1EXAMPLEHMAC:{ENCODED}@acme-bucket")
        assert store.service_account is None
        assert (store.credentials.access_key, store.credentials.secret_key) == (
            "GOOG1EXAMPLEHMAC",
            SECRET,
        )

    def test_bucket_only_uses_application_default_credentials(self) -> None:
        store = parse("gs://acme-bucket/p")
        assert not store.credentials
        assert (store.bucket, store.subpath) == ("acme-bucket", "p")

    def test_an_email_without_a_key_is_refused(self) -> None:
        with pytest.raises(UriError, match="gs://"):
            parse(f"gs://{SA}:@acme-bucket")


class TestCoreWeaveForm:
    def test_the_documented_form(self) -> None:
        store = parse(f"cw://CWAK:{ENCODED}@cwobject.com/ml/wandb?tls=true")
        assert (store.scheme, store.provider, store.endpoint, store.bucket, store.subpath) == (
            "cw",
            "coreweave",
            "cwobject.com",
            "ml",
            "wandb",
        )
        assert store.credentials.secret_key == SECRET

    def test_tls_defaults_to_true(self) -> None:
        assert parse("cw://CWAK:SKSKSKSK@cwobject.com/ml").tls is True

    def test_tls_may_be_turned_off(self) -> None:
        assert parse("cw://CWAK:SKSKSKSK@cwobject.com/ml?tls=false").tls is False


class TestFileForm:
    def test_a_directory(self) -> None:
        store = parse("file:///var/lib/byob/")
        assert (store.provider, store.bucket, store.subpath) == ("file", "/var/lib/byob", "")

    def test_the_sub_path_parameter(self) -> None:
        store = parse("file:///var/lib/byob?subpath=/teams/omega/")
        assert store.subpath == "teams/omega"

    def test_a_relative_directory_is_refused(self) -> None:
        with pytest.raises(UriError, match="absolute directory"):
            parse("file://relative/dir")


class TestErrors:
    @pytest.mark.parametrize(
        ("uri", "names"),
        [
            ("minio:9000/b", "no scheme"),
            ("nope://h/b", "scheme 'nope'"),
            ("s3://AK:SKSKSKSK@minio:9000/b?region=r&colour=blue", "parameter 'colour'"),
            ("s3://AK:SKSKSKSK@minio:9000/b?region", "'region' has no value"),
            ("s3://AK:SKSKSKSK@minio:9000/b?region=r&tls=maybe", "'tls' must be true or false"),
            ("s3://AK:SKSKSKSK@minio:9000?region=r", "no bucket after the endpoint 'minio:9000'"),
            ("s3://AK:@minio:9000/b?region=r", "access key without a secret key"),
            ("s3://AKIAONLY@minio:9000/b?region=r", "user-info part .* has no ':'"),
            ("s3://bkt/a/../b", r"sub-path 'a/\.\./b' has a '\.\.' path segment"),
            ("s3://bkt/a/%2e%2e/b", r"sub-path .* has a '\.\.' path segment"),
            ("gs://b/x/./y", r"sub-path .* '\.' path segment"),
            ("az://:abcdefgh@acct/c/a%5cb", "backslash"),
            ("file://AK:SKSKSKSK@/tmp/x", "takes no user info"),
        ],
    )
    def test_an_error_names_the_faulty_part(self, uri: str, names: str) -> None:
        with pytest.raises(UriError, match=names):
            parse(uri)

    def test_errors_are_value_errors_with_a_hint(self) -> None:
        with pytest.raises(ValueError) as caught:
            parse("s3://AK:SKSKSKSK@minio:9000/b")
        assert isinstance(caught.value, UriError)
        assert caught.value.hint

    @pytest.mark.parametrize(
        "template",
        [
            "s3://AKIAEXAMPLE:{s}@minio:9000/b",  # no region
            "s3://AKIAEXAMPLE:{s}@minio:9000?region=r",  # no bucket
            "s3://AKIAEXAMPLE:{s}@minio:9000/b?region=r&tls={s}",  # the secret echoed as a value
            "s3://AKIAEXAMPLE:{s}@minio:9000/b?region=r&{s}=1",
            "s3://AKIAEXAMPLE:{s}@minio:9000/b/../x?region=r",
            "s3://:{s}@minio:9000/b?region=r",
            "cw://AKIAEXAMPLE:{s}@cwobject.com",
            "az://user:{s}@acct/c",
            "az://:{s}@acct",
            "az://:{s}@acct/c?tls={s}",
            "gs://" + SA + ":{s}@b/%2e%2e",
            "gs://" + SA + ":{s}@b?bogus={s}",
            "file://x:{s}@/tmp",
            "xx://AKIAEXAMPLE:{s}@h/b",
            "AKIAEXAMPLE:{s}@h/b",
        ],
    )
    @pytest.mark.parametrize("secret", [SECRET, PEM, "p@ss:w/rd?&#x=1"])
    def test_no_error_contains_the_secret(self, template: str, secret: str) -> None:
        for written in (quote(secret, safe=""), quote(secret, safe="/")):
            with pytest.raises(UriError) as caught:
                parse(template.format(s=written))
            shown = " ".join([str(caught.value), repr(caught.value), caught.value.hint])
            for variant in {secret, written, quote(secret, safe=""), *secret.splitlines()}:
                if len(variant) >= 6:
                    assert variant not in shown, (template, shown)

    def test_an_error_is_raised_without_a_chained_traceback(self) -> None:
        with pytest.raises(UriError) as caught:
            parse(f"s3://AK:{ENCODED}@minio:9000/b?region=r&tls={ENCODED}")
        assert caught.value.__suppress_context__ or caught.value.__cause__ is None


class TestNoSecretInReprOrStr:
    STORES = [
        f"s3://AKIAEXAMPLE:{ENCODED}@minio.local:9000/b/sub?region=r",
        f"s3://AKIAEXAMPLE:{ENCODED}@s3.eu-west-1.amazonaws.com/b",
        f"cw://AKIAEXAMPLE:{ENCODED}@cwobject.com/b",
        f"az://:{ENCODED}@acct/c/sub",
        f"gs://{SA}:{quote(PEM, safe='')}@b/sub",
        f"gs://GOOG1HMAC:{ENCODED}@b",
    ]

    @pytest.mark.parametrize("uri", STORES)
    def test_store_and_credentials_show_which_fields_are_set_but_no_value(self, uri: str) -> None:
        store = parse(uri)
        secrets = store.credentials.secret_values
        assert secrets
        shown = " ".join(
            [
                repr(store),
                str(store),
                store.display,
                repr(store.credentials),
                str(store.credentials),
                str(store.to_dict()),
                uris.format(store, redact=True),
            ]
        )
        for value in secrets:
            for variant in (value, quote(value, safe=""), *value.splitlines()):
                if len(variant) >= 6:
                    assert variant not in shown
        assert "***" in repr(store.credentials)
        assert "credentials=***" in repr(store)

    def test_the_access_key_is_not_shown_either(self) -> None:
        store = parse(f"s3://AKIAEXAMPLE:{ENCODED}@minio.local:9000/b?region=r")
        assert "AKIAEXAMPLE" not in repr(store) + str(store) + repr(store.credentials)

    def test_to_dict_says_whether_there_are_credentials(self) -> None:
        assert parse(self.STORES[0]).to_dict()["has_credentials"] is True
        assert parse("s3://bkt").to_dict()["has_credentials"] is False


class TestRoundTrip:
    EXAMPLES = [
        f"s3://AKIAEXAMPLE:{ENCODED}@minio.local:9000/ml/wandb?region=us-east-1?tls=true",
        f"s3://AKIAEXAMPLE:{ENCODED}@minio.local:9000/ml?region=us-east-1&tls=false&forcePathStyle=false",
        f"s3://AKIAEXAMPLE:{ENCODED}@s3.eu-west-1.amazonaws.com/acme/wandb",
        f"s3://AKIAEXAMPLE:{ENCODED}@s3.amazonaws.com/acme",
        "s3://acme/wandb?region=eu-west-1",
        "s3://acme?tls=false&forcePathStyle=true",
        "s3://acme/users/ada@example.com",
        "s3://b/sub?endpoint=http://minio:9000&region=r",
        f"az://:{ENCODED}@acct/container/a/b",
        "az://acct/container?tls=false",
        "az://:abcdefgh@devstoreaccount1/c?endpoint=http://127.0.0.1:10000",
        f"gs://{SA}:{quote(PEM, safe='')}@bucket/p",
        f"gs://GOOG1HMAC:{ENCODED}@bucket",
        "gs://bucket?tls=false",
        "gs://bucket?endpoint=http://127.0.0.1:4443",
        f"cw://CWAK:{ENCODED}@cwobject.com/b/p?tls=true",
        "cw://CWAK:SKSKSKSK@cwobject.com/b?tls=false&region=us-east-04a",
        "file:///var/lib/byob",
        "file:///var/lib/my%20dir?subpath=teams/omega",
    ]

    @pytest.mark.parametrize("uri", EXAMPLES)
    def test_parse_format_parse_is_parse(self, uri: str) -> None:
        first = parse(uri)
        again = parse(uris.format(first))
        assert same(first, again), (uris.format(first), first.to_dict(), again.to_dict())

    @settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(store=st.deferred(lambda: stores()))
    def test_format_then_parse_gives_back_the_store(self, store: Store) -> None:
        text = uris.format(store)
        again = uris.parse(text, environ=NO_ENV)
        assert same(store, again), (text, store.to_dict(), again.to_dict())
        assert same(parse(uris.format(again)), again)


# -- strategies -------------------------------------------------------------------------------
def _valid_subpath(text: str) -> bool:
    try:
        keys.check_subpath(text)
    except UnsafeKeyError:
        return False
    return True


_NAME = st.text(string.ascii_lowercase + string.digits, min_size=3, max_size=12)
_BUCKET = st.builds(
    lambda a, b: a + b, _NAME, st.text(string.ascii_lowercase + string.digits + "-.", max_size=8)
)
_SEGMENT = (
    st.lists(
        st.one_of(
            st.sampled_from(["%", "%2", "%41", "@", "?", "#", "&", "=", "+", ":", " ", "~", "."]),
            st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="/\\"),
        ),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .filter(_valid_subpath)
)
_SUBPATH = st.lists(_SEGMENT, max_size=3).map("/".join).filter(_valid_subpath)
# Secrets with every character that needs encoding: / + = @ : ? & # % newlines, unicode.
# Every secret and key id registers with the process-wide redactor (secrets.register), and
# stays there: a generated "ent_id" would blank the "client_id" key in a later test's JSON.
# The prefixes make generated values impossible to confuse with ordinary output.
_SECRET = st.text(
    st.one_of(
        st.sampled_from(list("/+=@:?&#% \n\t-_.~")),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    min_size=1,
    max_size=40,
).map(lambda s: "S3cr3t" + s)
_KEY_ID = st.text(string.ascii_uppercase + string.digits, min_size=4, max_size=20).map(
    lambda s: "KEYID" + s
)
_REGION = st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"])
_HOST = st.sampled_from(
    ["minio.local:9000", "127.0.0.1:9000", "ceph.example.org", "s3.example.com:443"]
)


def _aws() -> st.SearchStrategy[Store]:
    ambient = st.builds(
        lambda b, sub, region, tls, ps: Store(
            provider="aws", bucket=b, subpath=sub, region=region, tls=tls, path_style=ps
        ),
        _BUCKET,
        _SUBPATH,
        st.none() | _REGION,
        st.booleans(),
        st.booleans(),
    )
    keyed = st.builds(
        lambda b, sub, region, ak, sk: Store(
            provider="aws",
            bucket=b,
            subpath=sub,
            region=region,
            endpoint=f"s3.{region}.amazonaws.com",
            credentials=Credentials(access_key=ak, secret_key=sk),
        ),
        _BUCKET,
        _SUBPATH,
        _REGION,
        _KEY_ID,
        _SECRET,
    )
    return ambient | keyed


def _s3_compatible() -> st.SearchStrategy[Store]:
    creds = st.none() | st.tuples(_KEY_ID, _SECRET)
    return st.builds(
        lambda provider, host, b, sub, region, tls, ps, c: Store(
            scheme="cw" if provider == "coreweave" else "s3",
            provider=provider,
            endpoint="cwobject.com" if provider == "coreweave" else host,
            bucket=b,
            subpath=sub,
            region=region,
            tls=tls,
            path_style=ps,
            credentials=Credentials(access_key=c[0], secret_key=c[1]) if c else Credentials(),
        ),
        st.sampled_from(["minio", "coreweave"]),
        _HOST,
        _BUCKET,
        _SUBPATH,
        _REGION,
        st.booleans(),
        st.booleans(),
        creds,
    )


def _azure() -> st.SearchStrategy[Store]:
    return st.builds(
        lambda acct, c, sub, key, endpoint, tls: Store(
            provider="azure",
            account=acct,
            bucket=c,
            subpath=sub,
            endpoint=endpoint,
            tls=tls,
            credentials=Credentials(account_key=key),
        ),
        _NAME,
        _BUCKET,
        _SUBPATH,
        st.none() | _SECRET,
        st.none() | st.just("127.0.0.1:10000"),
        st.booleans(),
    )


def _gcp() -> st.SearchStrategy[Store]:
    email = st.builds(lambda a, p: f"{a}@{p}.iam.gserviceaccount.com", _NAME, _NAME)
    creds = st.one_of(
        st.just((None, Credentials())),
        st.tuples(email, _SECRET.map(lambda s: PEM + s)).map(
            lambda t: (t[0], Credentials(private_key=t[1]))
        ),
        st.tuples(_KEY_ID, _SECRET).map(
            lambda t: (None, Credentials(access_key=t[0], secret_key=t[1]))
        ),
    )
    return st.builds(
        lambda b, sub, c, endpoint, tls: Store(
            provider="gcp",
            bucket=b,
            subpath=sub,
            service_account=c[0],
            credentials=c[1],
            endpoint=endpoint,
            tls=tls,
        ),
        _BUCKET,
        _SUBPATH,
        creds,
        st.none() | st.just("127.0.0.1:4443"),
        st.booleans(),
    )


def _file() -> st.SearchStrategy[Store]:
    directory = st.lists(_SEGMENT.filter(lambda s: "?" not in s), min_size=1, max_size=3).map(
        lambda p: "/" + "/".join(p)
    )
    return st.builds(
        lambda d, sub: Store(provider="file", bucket=d, subpath=sub), directory, _SUBPATH
    )


def stores() -> st.SearchStrategy[Store]:
    return st.one_of(_aws(), _s3_compatible(), _azure(), _gcp(), _file())


def test_strategies_cover_every_provider() -> None:
    """A guard on the property test above: its generator reaches each provider."""
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(stores())
    def collect(store: Store) -> None:
        seen.add(store.provider)

    collect()
    assert seen == {"aws", "minio", "coreweave", "azure", "gcp", "file"}


def test_same_compares_credentials() -> None:
    """Store.__eq__ ignores credentials, so the round-trip checks them explicitly."""
    a = parse("s3://AK:SKSKSKSK@minio:9000/b?region=r")
    b = attrs.evolve(a, credentials=Credentials(access_key="AK", secret_key="OTHEROTHER"))
    assert a == b
    assert not same(a, b)


# -- the round trip over generated connection strings ---------------------------------------------
def _encode(secret: str, raw_safe: bool) -> str:
    """URL-encode a secret fully, or leave '/', '+', '=' and ':' raw as people often do."""
    return quote(secret, safe="/+=:" if raw_safe else "")


def _query(params: list[tuple[str, str]], second_question_mark: bool) -> str:
    if not params:
        return ""
    joiner = "?" if second_question_mark else "&"
    return "?" + joiner.join(f"{k}={v}" for k, v in params)


@st.composite
def connection_strings(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(["minio", "aws", "ambient", "az", "gs-sa", "gs-hmac", "cw", "file"])
    )
    sub = draw(_SUBPATH)
    path = "/" + quote(sub, safe="/") if sub else ""
    path += draw(st.sampled_from(["", "/", "//"]))  # slashes to trim
    secret = draw(_SECRET)  # prefixed: no public part can spell it by chance
    encoded = _encode(secret, draw(st.booleans()))
    old_style = draw(st.booleans())
    tls = draw(st.sampled_from([None, "true", "false"]))
    params: list[tuple[str, str]] = []
    if kind == "minio":
        params.append(("region", draw(_REGION)))
        if tls:
            params.append(("tls", tls))
        if draw(st.booleans()):
            params.append(("forcePathStyle", draw(st.sampled_from(["true", "false"]))))
        params = draw(st.permutations(params))
        user = f"{draw(_KEY_ID)}:{encoded}@"
        return f"s3://{user}{draw(_HOST)}/{draw(_BUCKET)}{path}{_query(params, old_style)}"
    if kind == "aws":
        if draw(st.booleans()):
            params.append(("region", draw(_REGION)))
        host = draw(
            st.sampled_from(
                ["s3.amazonaws.com", "s3.eu-west-1.amazonaws.com", "s3-us-west-2.amazonaws.com"]
            )
        )
        return f"s3://{draw(_KEY_ID)}:{encoded}@{host}/{draw(_BUCKET)}{path}{_query(params, old_style)}"
    if kind == "ambient":
        if draw(st.booleans()):
            params.append(("region", draw(_REGION)))
        if tls:
            params.append(("tls", tls))
        return f"s3://{draw(_BUCKET)}{path}{_query(params, old_style)}"
    if kind == "az":
        user = f":{encoded}@" if draw(st.booleans()) else ""
        return f"az://{user}{draw(_NAME)}/{draw(_BUCKET)}{path}{_query([('tls', tls)] if tls else [], old_style)}"
    if kind == "gs-sa":
        email = f"{draw(_NAME)}@{draw(_NAME)}.iam.gserviceaccount.com"
        return f"gs://{email}:{quote(PEM + secret, safe='')}@{draw(_BUCKET)}{path}"
    if kind == "gs-hmac":
        return f"gs://{draw(_KEY_ID)}:{encoded}@{draw(_BUCKET)}{path}"
    if kind == "cw":
        return f"cw://{draw(_KEY_ID)}:{encoded}@cwobject.com/{draw(_BUCKET)}{path}{_query([('tls', tls)] if tls else [], old_style)}"
    directory = "/" + "/".join(
        quote(s, safe="") for s in draw(st.lists(_SEGMENT, min_size=1, max_size=3))
    )
    return f"file://{directory}" + (f"?subpath={quote(sub, safe='')}" if sub else "")


class TestRoundTripOfStrings:
    @settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(uri=connection_strings())
    def test_parse_format_parse_is_parse(self, uri: str) -> None:
        first = parse(uri)
        text = uris.format(first)
        again = parse(text)
        assert same(first, again), (uri, text, first.to_dict(), again.to_dict())
        for value in first.credentials.secret_values:
            if len(value) >= 6:  # a one-letter secret is in every text
                assert value not in repr(first) + str(first)
