"""The four verbs through the `Byob` API: signing rules, provisioning, markers, validation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from byob_core import ProviderSpec, SignedRequest, Store, hookimpl
from byob_core.api import MARKER_KEY, Byob
from byob_core.config import Config
from byob_core.errors import (
    ByobError,
    SigningError,
    StoreChangedError,
    UnsafeKeyError,
    UnsupportedError,
)
from byob_core.findings import Status
from byob_core.plugins import PluginHost
from byob_core.signing import GiB, MiB, parse_size, plan_multipart

AT = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)


class FakeSigner:
    """A provider that signs by writing the request into the URL: enough to test the core."""

    calls: list[int] = []

    @hookimpl
    def byob_providers(self) -> list[ProviderSpec]:
        return [ProviderSpec(name="fake", schemes=("fake",), max_expiry=dt.timedelta(days=7))]

    @hookimpl
    def byob_sign(self, store: Store, requests: list) -> list[SignedRequest]:
        self.calls.append(len(requests))
        return [
            SignedRequest(
                method=r.method,
                url=f"https://{store.bucket}.example/{r.key}?t={int(r.at.timestamp())}&e={int(r.expires.total_seconds())}"
                + (f"&X-User={r.user}" if r.user else ""),
                headers={"Content-Type": r.content_type} if r.content_type else {},
                expires_at=r.expires_at,
                key=r.key,
            )
            for r in requests
        ]


@pytest.fixture
def fake_byob(tmp_path: Path) -> Byob:
    host = PluginHost.load(entry_points=False, extra={"fake": FakeSigner()})
    store = Store(provider="fake", bucket="bkt", subpath="team/o")
    config = Config(instance=store, teams={"omega": store}, data_dir=tmp_path)
    return Byob(config, host)


class TestSigning:
    def test_defaults_one_hour_for_reads_and_a_day_for_puts(self, fake_byob: Byob) -> None:
        get, head = (fake_byob.sign(["k"], method=m, at=AT)[0] for m in ("GET", "HEAD"))
        put = fake_byob.sign(["k"], method="PUT", at=AT)[0]
        assert get.expires_at == head.expires_at == AT + dt.timedelta(hours=1)
        assert put.expires_at == AT + dt.timedelta(hours=24)

    def test_lifetime_over_the_provider_bound_is_refused(self, fake_byob: Byob) -> None:
        fake_byob.sign(["k"], expires=7 * 24 * 3600)
        with pytest.raises(SigningError, match="exceeds"):
            fake_byob.sign(["k"], expires=7 * 24 * 3600 + 1)
        with pytest.raises(SigningError):
            fake_byob.sign(["k"], expires=0)

    def test_many_keys_in_one_call_in_order_with_the_prefix(self, fake_byob: Byob) -> None:
        FakeSigner.calls.clear()
        keys = [f"runs/{i}/f.bin" for i in range(50)]
        signed = fake_byob.sign(keys, at=AT, user="alice")
        assert FakeSigner.calls == [50]
        assert [s.key for s in signed] == [f"team/o/{k}" for k in keys]
        assert all("X-User=alice" in s.url for s in signed)

    def test_explicit_time_is_reproducible(self, fake_byob: Byob) -> None:
        assert fake_byob.sign(["a"], at=AT) == fake_byob.sign(["a"], at=AT)

    def test_unknown_method_is_refused(self, fake_byob: Byob) -> None:
        with pytest.raises(SigningError, match="POST"):
            fake_byob.sign(["a"], method="POST")

    @pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/%2e%2e/b", ".byob/store.json"])
    def test_every_key_passes_the_guard(self, fake_byob: Byob, key: str) -> None:
        FakeSigner.calls.clear()
        with pytest.raises(UnsafeKeyError):
            fake_byob.sign(["fine", key])
        assert FakeSigner.calls == [], "nothing is signed when any key is refused"

    def test_signed_request_json(self, fake_byob: Byob) -> None:
        data = fake_byob.sign(["a"], method="PUT", at=AT, content_type="text/plain")[0].to_dict()
        assert set(data) == {"key", "method", "url", "headers", "expires_at"}
        assert data["headers"] == ["Content-Type:text/plain"]
        assert data["expires_at"] == "2026-03-02T08:30:00Z"

    def test_file_store_cannot_sign(self, tmp_path: Path) -> None:
        config = Config(instance=Store(provider="file", bucket=str(tmp_path)), data_dir=tmp_path)
        with pytest.raises(UnsupportedError, match="cannot sign"):
            Byob(config, PluginHost.load(entry_points=False)).sign(["a"])


class TestMultipartPlan:
    def test_parts_of_at_least_100_mib_numbered_from_one(self) -> None:
        plan = plan_multipart(3 * GiB)
        assert plan.multipart
        assert plan.part_size == 100 * MiB
        assert [p.number for p in plan.parts] == list(range(1, len(plan.parts) + 1))
        assert sum(p.size for p in plan.parts) == 3 * GiB
        assert plan.parts[-1].offset + plan.parts[-1].size == 3 * GiB

    def test_five_tebibytes_fit_in_ten_thousand_parts(self) -> None:
        plan = plan_multipart(5 * 1024 * GiB)
        assert len(plan.parts) <= 10_000
        assert plan.part_size == -(-5 * 1024 * GiB // 10_000)

    def test_small_objects_go_in_one_put(self) -> None:
        plan = plan_multipart(10 * MiB)
        assert not plan.multipart and len(plan.parts) == 1

    def test_too_large_is_refused(self) -> None:
        with pytest.raises(SigningError):
            plan_multipart(5 * 1024 * GiB + 1)

    def test_below_two_gibibytes_is_one_put_whatever_the_part_rules(self) -> None:
        """500 MiB is five 100 MiB parts by the part rule, yet below the threshold: one PUT."""
        for min_part in (5 * MiB, 100 * MiB):
            plan = plan_multipart(500 * MiB, min_part_size=min_part)
            assert not plan.multipart
            assert [(p.number, p.offset, p.size) for p in plan.parts] == [(1, 0, 500 * MiB)]
        assert not plan_multipart(2 * GiB - 1, min_part_size=5 * MiB).multipart
        assert plan_multipart(2 * GiB, min_part_size=5 * MiB).multipart


PROVIDER_STORES = {
    "aws": Store(provider="aws", bucket="b", region="us-east-1"),
    "minio": Store(provider="minio", bucket="b", endpoint="m:9000", region="us-east-1"),
    "coreweave": Store(provider="coreweave", bucket="b", endpoint="cwobject.com"),
    "gcp": Store(provider="gcp", bucket="b"),
    "azure": Store(provider="azure", bucket="c", account="acct"),
    "file": Store(provider="file", bucket="/tmp/byob-upload-plan"),
}


class TestUploadPlan:
    """`Byob.upload_plan`: sizes with units, and the same 2 GiB threshold for every provider."""

    @pytest.mark.parametrize(
        ("text", "size"),
        [
            ("500MiB", 500 * MiB),
            ("3GiB", 3 * GiB),
            ("3gib", 3 * GiB),
            ("1.5 GiB", 3 * GiB // 2),
            ("2GB", 2_000_000_000),
            ("10kB", 10_000),
            ("1048576", 1048576),
            ("0", 0),
            (" 7 B ", 7),
        ],
    )
    def test_sizes_with_units(self, text: str, size: int) -> None:
        assert parse_size(text) == size

    @pytest.mark.parametrize("text", ["", "MiB", "5XB", "-1", "1e9", "3 GiB extra", "0x10"])
    def test_what_is_not_a_size_is_refused_with_the_forms_that_work(self, text: str) -> None:
        with pytest.raises(SigningError, match=r"not a size.*500MiB"):
            parse_size(text)

    @pytest.mark.parametrize("provider", sorted(PROVIDER_STORES))
    def test_threshold_for_every_provider(self, provider: str, tmp_path: Path) -> None:
        config = Config(
            instance=None, teams={"t": PROVIDER_STORES[provider]}, data_dir=tmp_path / "state"
        )
        byob = Byob(config, PluginHost.load())
        small = byob.upload_plan("500MiB", team="t")
        assert (small.multipart, len(small.parts), small.size) == (False, 1, 500 * MiB)
        assert not byob.upload_plan(2 * GiB - 1, team="t").multipart
        large = byob.upload_plan("3GiB", team="t")
        assert large.multipart and len(large.parts) > 1
        assert sum(p.size for p in large.parts) == 3 * GiB


def _file_byob(tmp_path: Path, teams: dict[str, Store] | None = None) -> Byob:
    instance = Store(provider="file", bucket=str(tmp_path / "instance"), subpath="wandb")
    config = Config(instance=instance, teams=teams or {}, data_dir=tmp_path / "state")
    return Byob(config, PluginHost.load(entry_points=False))


class TestProvisionAndMarkers:
    def test_plan_changes_nothing_and_provision_is_idempotent(self, tmp_path: Path) -> None:
        byob = _file_byob(tmp_path)
        plan = byob.plan()
        assert plan.has_changes and not (tmp_path / "instance").exists()
        byob.provision()
        assert (tmp_path / "instance" / "wandb" / MARKER_KEY).is_file()
        assert not byob.plan().has_changes

    def test_marker_records_scope_and_team(self, tmp_path: Path) -> None:
        store = Store(provider="file", bucket=str(tmp_path / "omega"), subpath="o")
        byob = _file_byob(tmp_path, {"omega": store})
        byob.provision("omega")
        marker = json.loads((tmp_path / "omega" / "o" / MARKER_KEY).read_text())
        assert (marker["scope"], marker["team"]) == ("team", "omega")

    def test_a_store_serving_another_team_fails_validation_and_provisioning(
        self, tmp_path: Path
    ) -> None:
        store = Store(provider="file", bucket=str(tmp_path / "shared"), subpath="s")
        _file_byob(tmp_path, {"omega": store}).provision("omega")
        other = _file_byob(tmp_path, {"zeta": store})
        finding = other.validate("zeta").by_check()["core.marker"]
        assert finding.status is Status.FAIL and "migration" in finding.message
        with pytest.raises(ByobError, match="migration"):
            other.provision("zeta")

    def test_changing_a_teams_store_calls_for_a_migration(self, tmp_path: Path) -> None:
        first = Store(provider="file", bucket=str(tmp_path / "b"), subpath="one")
        _file_byob(tmp_path, {"omega": first}).provision("omega")
        moved = _file_byob(
            tmp_path, {"omega": Store(provider="file", bucket=str(tmp_path / "b"), subpath="two")}
        )
        with pytest.raises(StoreChangedError, match="migration"):
            moved.validate("omega")
        with pytest.raises(StoreChangedError, match="migration"):
            moved.provision("omega")


class TestValidation:
    def test_report_json_shape(self, tmp_path: Path) -> None:
        byob = _file_byob(tmp_path)
        byob.provision()
        data = byob.validate().to_dict()
        assert {"store", "ok", "findings"} <= set(data)
        assert data["ok"] is True
        for finding in data["findings"]:
            assert {"check", "status", "message", "hint"} <= set(finding)
            assert finding["status"] in ("pass", "warn", "fail", "skip")

    def test_probe_is_cleaned_up_when_a_step_fails(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        byob = _file_byob(tmp_path)
        byob.provision()
        store = byob.resolve().store
        fs = byob.filesystem(store)

        def broken_cat(path: str, *a: object, **k: object) -> bytes:
            if "/probe/" in path:
                raise OSError("disk on fire")
            return original(path, *a, **k)

        original = fs.cat_file
        monkeypatch.setattr(fs, "cat_file", broken_cat)
        report = byob.validate()
        assert report.by_check()["core.probe.read"].status is Status.FAIL
        assert report.by_check()["core.probe.delete"].status is Status.PASS
        assert not list((tmp_path / "instance" / "wandb" / ".byob" / "probe").glob("*"))

    def test_stores_sharing_bucket_and_subpath_warn(self, tmp_path: Path) -> None:
        same = Store(provider="file", bucket=str(tmp_path / "instance"), subpath="wandb")
        byob = _file_byob(tmp_path, {"kappa": same})
        finding = byob.validate("kappa", read_only=True).by_check()["core.shared"]
        assert finding.status is Status.WARN and "instance" in finding.message

    def test_policy_plugins_add_findings_to_any_store(self, tmp_path: Path) -> None:
        from byob_core import Finding

        class Policy:
            @hookimpl
            def byob_validate(self, store: Store, context: object) -> list[Finding]:
                return [
                    Finding.warned(
                        "acme.naming", f"{store.bucket} lacks the acme- prefix", hint="rename"
                    )
                ]

        host = PluginHost.load(entry_points=False, extra={"acme-policy": Policy()})
        config = Config(
            instance=Store(provider="file", bucket=str(tmp_path / "i")), data_dir=tmp_path
        )
        report = Byob(config, host).validate(read_only=True)
        finding = report.by_check()["acme.naming"]
        assert finding.provider == "acme-policy"


class PreparingSigner(FakeSigner):
    """FakeSigner with `byob_signer`: a prepared signer that must give the same output."""

    prepared: list[tuple[str, str, dt.timedelta]] = []

    @hookimpl
    def byob_signer(self, store: Store, method: str, expires: dt.timedelta) -> object:
        from byob_core.signing import SignRequest

        self.prepared.append((store.bucket, method, expires))
        plugin = self

        class Prepared:
            def sign_keys(self, keys, *, at=None, user=None):  # type: ignore[no-untyped-def]
                when = at or dt.datetime.now(dt.UTC).replace(microsecond=0)
                requests = [
                    SignRequest(key=k, method=method, expires=expires, at=when, user=user)
                    for k in keys
                ]
                return plugin.byob_sign(store, requests)

        return Prepared()


def _byob_with(plugin: object, tmp_path: Path) -> Byob:
    host = PluginHost.load(entry_points=False, extra={"fake": plugin})
    store = Store(provider="fake", bucket="bkt", subpath="team/o")
    config = Config(instance=store, teams={"omega": store}, data_dir=tmp_path)
    return Byob(config, host)


class TestPreparedSigning:
    def test_prepared_output_equals_the_request_path(self, tmp_path: Path) -> None:
        plain, prepared = (
            _byob_with(FakeSigner(), tmp_path),
            _byob_with(PreparingSigner(), tmp_path),
        )
        for method in ("GET", "put", "HEAD"):
            for expires in (None, 60, dt.timedelta(hours=2)):
                args = dict(team="omega", method=method, expires=expires, at=AT, user="u")
                assert prepared.sign(["a", "b c"], **args) == plain.sign(["a", "b c"], **args)

    def test_resolved_once_then_rechecked(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from byob_core import api

        PreparingSigner.prepared.clear()
        byob = _byob_with(PreparingSigner(), tmp_path)
        for _ in range(5):
            byob.sign(["a"], team="omega", at=AT)
        assert PreparingSigner.prepared == [("bkt", "GET", dt.timedelta(hours=1))]
        byob.sign(["a"], team="omega", method="PUT", at=AT)
        assert len(PreparingSigner.prepared) == 2, "another method is another route"
        now = api.time.monotonic()
        monkeypatch.setattr(api.time, "monotonic", lambda: now + api.RECHECK_SECONDS + 1)
        byob.sign(["a"], team="omega", at=AT)
        assert len(PreparingSigner.prepared) == 3, "a stale route is prepared again"

    def test_a_new_configuration_is_seen_at_once(self, tmp_path: Path) -> None:
        import attrs

        byob = _byob_with(PreparingSigner(), tmp_path)
        signer = byob.signer("omega")
        assert signer.sign(["a"], at=AT)[0].url.startswith("https://bkt.example/team/o/a")
        other = Store(provider="fake", bucket="other", subpath="x")
        byob.config = attrs.evolve(byob.config, teams={"omega": other})
        assert byob.sign(["a"], team="omega", at=AT)[0].url.startswith("https://other.example/x/a")
        assert signer.sign(["a"], at=AT)[0].url.startswith("https://other.example/x/a")

    def test_signer_signs_like_sign(self, tmp_path: Path) -> None:
        byob = _byob_with(PreparingSigner(), tmp_path)
        signer = byob.signer("omega", method="PUT", expires=120)
        assert (signer.method, signer.lifetime) == ("PUT", dt.timedelta(seconds=120))
        assert signer.sign(["k"], at=AT, user="u") == byob.sign(
            ["k"], team="omega", method="PUT", expires=120, at=AT, user="u"
        )
        assert signer.sign([]) == []
        with pytest.raises(UnsafeKeyError):
            signer.sign(["ok", "../escape"])

    def test_a_plugin_declining_falls_back_to_byob_sign(self, tmp_path: Path) -> None:
        class Declining(FakeSigner):
            @hookimpl
            def byob_signer(self, store: Store, method: str, expires: dt.timedelta) -> None:
                return None

        byob, plain = _byob_with(Declining(), tmp_path), _byob_with(FakeSigner(), tmp_path)
        assert byob.sign(["a"], at=AT, user="u") == plain.sign(["a"], at=AT, user="u")

    def test_a_wrong_number_of_results_is_a_plugin_error(self, tmp_path: Path) -> None:
        from byob_core.errors import PluginError

        class Short(PreparingSigner):
            @hookimpl
            def byob_signer(self, store: Store, method: str, expires: dt.timedelta) -> object:
                class Prepared:
                    def sign_keys(self, keys, *, at=None, user=None):  # type: ignore[no-untyped-def]
                        return []

                return Prepared()

        with pytest.raises(PluginError, match="returned 0 signed requests for 1 keys"):
            _byob_with(Short(), tmp_path).sign(["a"])

    def test_extra_fields_go_through_byob_sign(self, tmp_path: Path) -> None:
        PreparingSigner.calls.clear()
        byob = _byob_with(PreparingSigner(), tmp_path)
        signed = byob.sign(["a"], method="PUT", at=AT, content_type="text/plain")
        assert signed[0].headers == {"Content-Type": "text/plain"}
        assert PreparingSigner.calls == [1]
