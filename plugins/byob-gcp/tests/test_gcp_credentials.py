"""Credential sources (connection string, key file, ADC) and what I/O and signing use."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from urllib.parse import quote

import pytest
from byob_core.plans import Plan
from byob_core.provider import ProvisionContext, ValidateContext
from byob_core.signing import SignRequest
from byob_core.stores import Credentials, Store
from byob_core.uris import parse
from byob_gcp import credentials as creds
from byob_gcp.plugin import byob_filesystem, byob_provision, byob_sign, byob_validate

EMAIL = "uploader@acme-proj.iam.gserviceaccount.com"
AT = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


class TestSources:
    def test_connection_string_with_url_encoded_key_signs(self, rsa_pem: str) -> None:
        store = parse(f"gs://{quote(EMAIL, safe='')}:{quote(rsa_pem, safe='')}@acme-bucket/team/a")
        assert store.provider == "gcp" and store.service_account == EMAIL
        (signed,) = byob_sign(
            store=store,
            requests=[
                SignRequest(key="team/a/k", at=AT, expires=dt.timedelta(seconds=60), user="u")
            ],
        )
        assert signed.url.startswith("https://storage.googleapis.com/acme-bucket/team/a/k?")
        assert (
            "X-Goog-Credential=uploader%40acme-proj.iam.gserviceaccount.com%2F20260506"
            in signed.url
        )
        assert creds.signing_kind(store) == "rsa"

    def test_hmac_connection_string(self) -> None:
        store = parse("gs://GOOG1EXAMPLEID:c2VjcmV0L2tleQ%3D%3D@acme-bucket")
        assert creds.signing_kind(store) == "hmac"
        assert creds.gcsfs_token(store) == creds.ADC  # the JSON API takes no HMAC keys

    def test_gcsfs_token_by_source(self, tmp_path, rsa_pem: str) -> None:
        by_uri = Store(
            provider="gcp",
            bucket="b",
            service_account=EMAIL,
            credentials=Credentials(private_key=rsa_pem),
        )
        token = creds.gcsfs_token(by_uri)
        assert token["client_email"] == EMAIL and token["type"] == "service_account"
        key_file = tmp_path / "sa.json"
        key_file.write_text(
            json.dumps({"type": "service_account", "client_email": EMAIL, "private_key": rsa_pem})
        )
        by_file = Store(provider="gcp", bucket="b", options={"key_file": str(key_file)})
        assert creds.gcsfs_token(by_file) == str(key_file)
        assert creds.gcsfs_token(Store(provider="gcp", bucket="b")) == creds.ADC
        emulator = Store(provider="gcp", bucket="b", endpoint="127.0.0.1:1", tls=False)
        assert creds.gcsfs_token(emulator) == creds.ANONYMOUS

    def test_adc_key_file_signs(
        self, tmp_path, rsa_pem: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        key_file = tmp_path / "adc.json"
        key_file.write_text(
            json.dumps({"type": "service_account", "client_email": EMAIL, "private_key": rsa_pem})
        )
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
        store = Store(provider="gcp", bucket="adc-bucket")
        (signed,) = byob_sign(
            store=store, requests=[SignRequest(key="k", at=AT, expires=dt.timedelta(seconds=5))]
        )
        assert "GOOG4-RSA-SHA256" in signed.url

    def test_project_from_settings_key_or_email(self) -> None:
        assert (
            creds.project_of(Store(provider="gcp", bucket="b", options={"project": "p1"})) == "p1"
        )
        assert (
            creds.project_of(Store(provider="gcp", bucket="b", service_account=EMAIL))
            == "acme-proj"
        )

    def test_unreadable_key_file_is_a_signing_error(self, tmp_path) -> None:
        from byob_core.errors import SigningError

        store = Store(
            provider="gcp", bucket="b", options={"key_file": str(tmp_path / "missing.json")}
        )
        with pytest.raises(SigningError):
            creds.signing_kind(store)


class TestEmulatorImport:
    def test_plugin_turns_hns_probing_off_for_an_endpoint(self) -> None:
        code = (
            "import os, json\n"
            "os.environ.pop('GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT', None)\n"
            "from byob_core.stores import Store\n"
            "from byob_gcp.plugin import byob_filesystem\n"
            "fs = byob_filesystem(store=Store(provider='gcp', bucket='b', endpoint='127.0.0.1:9', tls=False))\n"
            "print(json.dumps([os.environ.get('GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT'), type(fs).__bases__[0].__module__, fs._location]))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert json.loads(out.stdout) == ["false", "gcsfs.core", "http://127.0.0.1:9"]


class TestNoSecretLeaks:
    def test_plan_findings_and_repr_hold_no_key(
        self, gcs_emulator: str, make_store, rsa_pem: str
    ) -> None:
        store = make_store(gcs_emulator)
        plan: Plan = byob_provision(
            store=store, context=ProvisionContext(apply=True, principal=EMAIL)
        )
        findings = byob_validate(store=store, context=ValidateContext(principal=EMAIL))
        text = (
            json.dumps(plan.to_dict()) + json.dumps([f.to_dict() for f in findings]) + repr(store)
        )
        text += repr(creds.signer_for(store)) + repr(byob_filesystem(store=store))
        body = "".join(rsa_pem.splitlines()[1:-1])
        for line in rsa_pem.splitlines()[1:-1]:
            assert line not in text
        assert body[:40] not in text
