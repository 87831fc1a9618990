"""SAS signing: byte-identical to azure-storage-blob's generate_blob_sas, and cheap to import."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from unittest import mock

import pytest
from byob_azure import sas
from byob_azure.sas import BlobSigner, DelegationKey, blob_sas, decode_key
from byob_core.errors import SigningError
from byob_core.signing import SignRequest
from hypothesis import given, settings
from hypothesis import strategies as st

KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
RAW = decode_key(KEY)
UDK_VALUE = "cXVpdGUgYSBzZWNyZXQgZGVsZWdhdGlvbiBrZXkgdmFsdWUhIQ=="

names = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(" +=&%/?#;:@!$'()*,~-_.")),
        st.characters(blacklist_categories=("Cs",)),
    ),
    min_size=1,
    max_size=60,
)
times = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda t: t.replace(microsecond=0, tzinfo=dt.UTC)
)
permissions = st.sampled_from(["r", "w", "c", "d", "racwd", "rw"])
optional_text = st.none() | st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20
)


def sdk_versions() -> list[str]:
    from azure.storage.blob._shared.constants import X_MS_VERSION

    return sorted({sas.SIGNED_VERSION, X_MS_VERSION, "2020-12-06", "2025-07-05"})


def oracle(version: str, **kwargs: object) -> str:
    """generate_blob_sas with the signed version pinned (it has no argument for it)."""
    import azure.storage.blob._shared_access_signature as module
    from azure.storage.blob import generate_blob_sas

    with mock.patch.object(module, "X_MS_VERSION", version):
        return generate_blob_sas(**kwargs)  # type: ignore[arg-type]


def sdk_udk(key: DelegationKey):  # type: ignore[no-untyped-def]
    from azure.storage.blob import UserDelegationKey

    udk = UserDelegationKey()
    for name in (
        "signed_oid",
        "signed_tid",
        "signed_start",
        "signed_expiry",
        "signed_service",
        "signed_version",
        "value",
    ):
        setattr(udk, name, getattr(key, name))
    if key.signed_delegated_user_tid:
        udk.signed_delegated_user_tid = key.signed_delegated_user_tid
    return udk


DELEGATION = DelegationKey(
    signed_oid="6f2d1c7e-0000-4000-8000-000000000001",
    signed_tid="72f988bf-0000-4000-8000-000000000002",
    signed_start="2030-01-01T00:00:00Z",
    signed_expiry="2030-01-08T00:00:00Z",
    signed_service="b",
    signed_version="2025-11-05",
    value=UDK_VALUE,
)


class TestAccountKeySas:
    """Account-key service SAS: every field, byte for byte against the SDK."""

    @settings(max_examples=300, deadline=None)
    @given(
        blob=names,
        permission=permissions,
        expiry=times,
        start=st.none() | times,
        version=st.sampled_from(sdk_versions()),
        content_type=optional_text,
        disposition=optional_text,
        cache_control=optional_text,
        user=optional_text,
        protocol=st.sampled_from([None, "https", "https,http"]),
        stamp=st.sampled_from(
            [
                None,
                ("snapshot", "2030-01-01T00:00:00.0000000Z"),
                ("version_id", "2030-01-02T00:00:00.1234567Z"),
            ]
        ),
    )
    def test_general_form_matches_generate_blob_sas(
        self,
        blob,
        permission,
        expiry,
        start,
        version,
        content_type,
        disposition,
        cache_control,
        user,
        protocol,
        stamp,
    ) -> None:  # type: ignore[no-untyped-def]
        kind, value = stamp or (None, None)
        expected = oracle(
            version,
            account_name="acct",
            container_name="cont",
            blob_name=blob,
            account_key=KEY,
            permission=permission,
            expiry=expiry,
            start=start,
            protocol=protocol,
            content_type=content_type,
            content_disposition=disposition,
            cache_control=cache_control,
            correlation_id=user,
            **({kind: value} if kind else {}),
        )
        ours = blob_sas(
            "acct",
            "cont",
            blob,
            key=RAW,
            permission=permission,
            expiry=sas.format_time(expiry),
            start=sas.format_time(start) if start else None,
            version=version,
            protocol=protocol,
            correlation_id=user,
            overrides={
                "rsct": content_type or "",
                "rscd": disposition or "",
                "rscc": cache_control or "",
            },
            **({kind: value} if kind else {}),
        )
        assert ours == expected

    @settings(max_examples=300, deadline=None)
    @given(
        blob=names,
        permission=permissions,
        expiry=times,
        user=optional_text,
        protocol=st.sampled_from([None, "https"]),
    )
    def test_fast_path_matches_generate_blob_sas(
        self, blob, permission, expiry, user, protocol
    ) -> None:  # type: ignore[no-untyped-def]
        signer = BlobSigner(
            account="acct", container="cont", base_url="https://h", key=RAW, protocol=protocol
        )
        expected = oracle(
            sas.SIGNED_VERSION,
            account_name="acct",
            container_name="cont",
            blob_name=blob,
            account_key=KEY,
            permission=permission,
            expiry=expiry,
            protocol=protocol,
            correlation_id=user,
        )
        assert signer.token(blob, permission, expiry, user=user) == expected

    def test_current_sdk_version_form_is_unchanged(self) -> None:
        """The SDK's own newest version still signs the 2020-12-06 string (a sentinel)."""
        from azure.storage.blob import generate_blob_sas

        seen: list[str] = []
        generate_blob_sas(
            "acct",
            "cont",
            "b",
            account_key=KEY,
            permission="r",
            expiry="2030-01-01T00:00:00Z",
            sts_hook=seen.append,
        )
        assert seen[0].count("\n") == 15


def oracle_udk(version: str, **kwargs: object) -> str:
    """generate_blob_sas with a delegation key, its string-to-sign cut to `version`'s fields.

    azure-storage-blob signs the fields of its own (newest) version whatever ``sv`` says;
    for older versions we drop what they lack (srh/srq before 2026-04-06, skdutid/sduoid
    before 2025-07-05: the layout Azurite checks) and sign the SDK's string again.
    """
    import base64
    import hmac
    from urllib.parse import quote

    seen: list[str] = []
    token = oracle(version, sts_hook=seen.append, **kwargs)
    lines = seen[0].split("\n")
    assert len(lines) == 28, lines
    drop = set()
    if version < sas._REQUEST_FIELDS_VERSION:
        drop |= {21, 22}
    if version < sas._DELEGATED_USER_VERSION:
        drop |= {13, 14}
    if not drop:
        return token
    sts = "\n".join(line for i, line in enumerate(lines) if i not in drop)
    key = base64.b64decode(kwargs["user_delegation_key"].value)  # type: ignore[attr-defined]
    sig = base64.b64encode(hmac.digest(key, sts.encode(), "sha256")).decode()
    return token.rsplit("&sig=", 1)[0] + "&sig=" + quote(sig)


class TestUserDelegationSas:
    """User-delegation SAS: scid is signed; compare with generate_blob_sas(user_delegation_key)."""

    @settings(max_examples=200, deadline=None)
    @given(
        blob=names.filter(lambda n: "\n" not in n),
        permission=permissions,
        expiry=times,
        user=optional_text,
        start=st.none() | times,
        content_type=optional_text,
        tid=st.sampled_from([None, "11111111-0000-4000-8000-000000000003"]),
        version=st.sampled_from(sdk_versions()),
    )
    def test_matches_generate_blob_sas(
        self, blob, permission, expiry, user, start, content_type, tid, version
    ) -> None:  # type: ignore[no-untyped-def]
        import attrs

        key = attrs.evolve(DELEGATION, signed_delegated_user_tid=tid)
        expected = oracle_udk(
            version,
            account_name="acct",
            container_name="cont",
            blob_name=blob,
            user_delegation_key=sdk_udk(key),
            permission=permission,
            expiry=expiry,
            start=start,
            content_type=content_type,
            correlation_id=user,
        )
        ours = blob_sas(
            "acct",
            "cont",
            blob,
            key=decode_key(UDK_VALUE),
            permission=permission,
            expiry=sas.format_time(expiry),
            start=sas.format_time(start) if start else None,
            version=version,
            delegation=key,
            correlation_id=user,
            overrides={"rsct": content_type} if content_type else None,
        )
        assert ours == expected
        if start is None and content_type is None:
            signer = BlobSigner(
                account="acct",
                container="cont",
                base_url="https://h",
                key=decode_key(UDK_VALUE),
                delegation=key,
                version=version,
            )
            assert signer.token(blob, permission, expiry, user=user) == expected

    def test_the_sdk_version_needs_no_adjustment(self) -> None:
        """At the SDK's own signed version the comparison is with its untouched output."""
        from azure.storage.blob._shared.constants import X_MS_VERSION

        assert X_MS_VERSION >= sas._REQUEST_FIELDS_VERSION

    def test_url_cannot_outlive_the_delegation_key(self) -> None:
        signer = BlobSigner(
            account="acct",
            container="cont",
            base_url="https://h",
            key=decode_key(UDK_VALUE),
            delegation=DELEGATION,
        )
        request = SignRequest(
            key="a",
            method="GET",
            expires=dt.timedelta(days=7),
            at=dt.datetime(2030, 1, 6, tzinfo=dt.UTC),
        )
        with pytest.raises(SigningError, match="outlive"):
            signer.sign([request])

    def test_repr_hides_the_key_value(self) -> None:
        assert UDK_VALUE not in repr(DELEGATION)


class TestSignedRequest:
    """What byob_sign returns: method, URL and the headers the client must send."""

    signer = BlobSigner(
        account="acct",
        container="cont",
        base_url="https://acct.blob.core.windows.net",
        key=RAW,
        protocol="https",
    )
    at = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

    def test_put_says_which_headers_to_send(self) -> None:
        [signed] = self.signer.sign(
            [
                SignRequest(
                    key="runs/a b.bin",
                    method="PUT",
                    at=self.at,
                    expires=dt.timedelta(hours=24),
                    user="alice",
                    content_type="application/json",
                    content_md5="1B2M2Y8AsgTpgAmY7PhCfg==",
                )
            ]
        )
        assert signed.headers == {
            "x-ms-blob-type": "BlockBlob",
            "Content-Type": "application/json",
            "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
        }
        assert "x-ms-blob-type:BlockBlob" in signed.header_lines()
        assert signed.url.startswith("https://acct.blob.core.windows.net/cont/runs/a%20b.bin?se=")
        assert "&sp=w&" in signed.url and "&scid=alice&" in signed.url
        assert "&spr=https&" in signed.url
        assert signed.expires_at == self.at + dt.timedelta(hours=24)

    def test_get_with_response_overrides(self) -> None:
        [signed] = self.signer.sign(
            [
                SignRequest(
                    key="a",
                    method="GET",
                    at=self.at,
                    expires=dt.timedelta(hours=1),
                    response_headers={"response-content-disposition": "attachment; filename=x.bin"},
                )
            ]
        )
        assert "rscd=attachment%3B%20filename%3Dx.bin" in signed.url
        assert signed.headers == {}

    def test_unknown_override_is_refused(self) -> None:
        with pytest.raises(SigningError, match="cannot override"):
            self.signer.sign(
                [
                    SignRequest(
                        key="a",
                        at=self.at,
                        expires=dt.timedelta(hours=1),
                        response_headers={"x-custom": "1"},
                    )
                ]
            )

    def test_version_read_names_the_version(self) -> None:
        [signed] = self.signer.sign(
            [
                SignRequest(
                    key="a",
                    at=self.at,
                    expires=dt.timedelta(hours=1),
                    version_id="2030-01-01T00:00:00.0000000Z",
                )
            ]
        )
        assert "versionid=2030-01-01T00%3A00%3A00.0000000Z" in signed.url
        assert "&sr=bv&" in signed.url

    def test_invalid_key_is_a_signing_error_without_the_key(self) -> None:
        with pytest.raises(SigningError) as info:
            decode_key("not base64!!")
        assert "not base64!!" not in str(info.value)

    def test_old_signed_version_is_refused(self) -> None:
        with pytest.raises(SigningError):
            BlobSigner(
                account="a", container="c", base_url="https://h", key=RAW, version="2019-12-12"
            )


class TestImportCost:
    def test_plugin_import_loads_no_cloud_sdk(self) -> None:
        code = (
            "import sys, byob_azure.plugin, byob_azure.sas;"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('azure', 'adlfs', 'boto3', 'botocore', 's3fs', 'gcsfs', "
            "'google'));"
            "print(','.join(bad))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == ""

    def test_provider_spec(self) -> None:
        from byob_azure.plugin import byob_providers

        [spec] = byob_providers()
        assert (spec.name, tuple(spec.schemes), spec.gc_batch_size, spec.user_param) == (
            "azure",
            ("az",),
            256,
            "scid",
        )
        assert spec.versions and spec.multipart and spec.can_sign
        assert spec.max_expiry == dt.timedelta(days=7)


class TestPathQuoting:
    @settings(max_examples=500, deadline=None)
    @given(blob=names)
    def test_cheap_path_quoting_equals_quote(self, blob: str) -> None:
        from urllib.parse import quote

        from byob_azure.sas import _path, _q

        assert _path(blob) == quote(blob, safe="/~")
        assert _q(blob) == quote(blob)


class TestPreparedSigner:
    """`BlobSigner.prepare` (the `byob_signer` fast path) against generate_blob_sas and `sign`."""

    methods = st.sampled_from(["GET", "PUT", "HEAD", "DELETE"])

    @settings(max_examples=200, deadline=None)
    @given(
        blob=names.filter(lambda n: "\n" not in n),
        method=methods,
        at=times.filter(lambda t: t.year < 2099),
        seconds=st.integers(1, 7 * 24 * 3600),
        user=optional_text,
        delegated=st.booleans(),
        version=st.sampled_from(sdk_versions()),
    )
    def test_matches_generate_blob_sas_and_sign(
        self, blob, method, at, seconds, user, delegated, version
    ) -> None:  # type: ignore[no-untyped-def]
        import attrs

        lifetime = dt.timedelta(seconds=seconds)
        expiry = at + lifetime
        key = attrs.evolve(DELEGATION, signed_expiry="2100-01-01T00:00:00Z")
        signer = BlobSigner(
            account="acct",
            container="cont",
            base_url="https://h",
            key=decode_key(UDK_VALUE) if delegated else RAW,
            delegation=key if delegated else None,
            version=version,
            protocol="https",
        )
        common = dict(
            account_name="acct",
            container_name="cont",
            blob_name=blob,
            permission=sas.PERMISSIONS[method],
            expiry=expiry,
            protocol="https",
            correlation_id=user,
        )
        if delegated:
            token = oracle_udk(version, user_delegation_key=sdk_udk(key), **common)
        else:
            token = oracle(version, account_key=KEY, **common)
        (signed,) = signer.prepare(method, lifetime).sign_keys([blob], at=at, user=user)
        assert signed.url == f"{signer.url(blob)}?{token}"
        request = SignRequest(key=blob, method=method, at=at, expires=lifetime, user=user)
        assert signed == signer.sign([request])[0]

    def test_every_call_in_a_new_second(self) -> None:
        from byob_core import signing

        signer = BlobSigner(account="acct", container="cont", base_url="https://h", key=RAW)
        prepared = signer.prepare("PUT", dt.timedelta(hours=1))
        start = int(dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp())
        offsets = [0, 1, 58, 59, 59, 60, 61, 3600, 86400 + 5]  # minute, hour and day boundaries
        ticks = [start + o + 0.9 for o in offsets]
        with mock.patch.object(signing, "clock", side_effect=ticks):
            got = [prepared.sign_keys(["a b"], user="u")[0] for _ in offsets]
        for offset, signed in zip(offsets, got, strict=True):
            at = dt.datetime.fromtimestamp(start + offset, dt.UTC)
            request = SignRequest(
                key="a b", method="PUT", at=at, expires=dt.timedelta(hours=1), user="u"
            )
            assert signed == signer.sign([request])[0]
            assert signed.headers == {"x-ms-blob-type": "BlockBlob"}

    def test_a_url_outliving_the_delegation_key_renews_it_or_is_refused(self) -> None:
        import attrs

        old = BlobSigner(
            account="acct",
            container="cont",
            base_url="https://h",
            key=decode_key(UDK_VALUE),
            delegation=DELEGATION,
        )
        late = dt.datetime(2030, 1, 6, tzinfo=dt.UTC)
        with pytest.raises(SigningError, match="outlive"):
            old.prepare("GET", dt.timedelta(days=7)).sign_keys(["a"], at=late)
        fresh = BlobSigner(
            account="acct",
            container="cont",
            base_url="https://h",
            key=decode_key(UDK_VALUE),
            delegation=attrs.evolve(DELEGATION, signed_expiry="2030-01-20T00:00:00Z"),
        )
        asked: list[dt.datetime] = []

        def renew(until: dt.datetime) -> BlobSigner:
            asked.append(until)
            return fresh

        prepared = old.prepare("GET", dt.timedelta(days=7), renew=renew)
        (signed,) = prepared.sign_keys(["a"], at=late)
        assert asked == [late + dt.timedelta(days=7)]
        request = SignRequest(key="a", method="GET", at=late, expires=dt.timedelta(days=7))
        assert signed == fresh.sign([request])[0]
