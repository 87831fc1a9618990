"""Keys the guard accepts work everywhere; the ones that cannot are refused by the guard
(issue 18 item 10). On the file store and on S3 (a moto server) through ``byob://``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest
from byob_aws.testing import ACCESS_KEY, FAKE_ENV, REGION, SECRET_KEY, moto_server
from byob_core import keys
from byob_core.cli import main
from byob_core.errors import UnsafeKeyError
from byob_core.fs import ByobFileSystem


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with moto_server() as endpoint:
            yield endpoint


@pytest.fixture(params=["file", "s3"])
def fs(request: pytest.FixtureRequest, tmp_path) -> ByobFileSystem:
    if request.param == "file":
        store = {"provider": "file", "bucket": str(tmp_path / "bucket"), "subpath": "wandb"}
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"keys-{uuid.uuid4().hex[:12]}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        ).create_bucket(Bucket=bucket)
        store = {
            "provider": "aws",
            "bucket": bucket,
            "subpath": "wandb",
            "endpoint": endpoint.split("://", 1)[1],
            "tls": False,
            "path_style": True,
            "region": REGION,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        }
    return ByobFileSystem(
        config_data={"data_dir": str(tmp_path / "state"), "instance": store},
        skip_instance_cache=True,
    )


ROOT = "byob://_instance/k"
MAGIC = {"a[1].bin": b"bracket", "b*.bin": b"star", "c?.bin": b"question", "d[!x].bin": b"neg"}
DECOYS = {"a1.bin": b"decoy-a1", "bX.bin": b"decoy-star", "c1.bin": b"decoy-q", "dy.bin": b"d"}


class TestGlobCharactersAreLiteral:
    def fill(self, fs: ByobFileSystem) -> None:
        for name, data in {**MAGIC, **DECOYS}.items():
            fs.pipe_file(f"{ROOT}/{name}", data)

    def test_bulk_cat_reads_each_key_back_literally(self, fs) -> None:
        self.fill(fs)
        paths = [f"{ROOT}/{name}" for name in MAGIC]
        got = fs.cat(paths)
        assert {path.rsplit("/", 1)[1]: data for path, data in got.items()} == MAGIC
        for name, data in MAGIC.items():
            assert fs.cat(f"{ROOT}/{name}") == data
            assert fs.cat_file(f"{ROOT}/{name}") == data

    def test_rm_of_a_literal_key_deletes_that_key_only(self, fs) -> None:
        self.fill(fs)
        fs.rm(f"{ROOT}/a[1].bin")
        fs.rm([f"{ROOT}/b*.bin"])
        names = {path.rsplit("/", 1)[1] for path in fs.find(ROOT)}
        assert names == (set(MAGIC) | set(DECOYS)) - {"a[1].bin", "b*.bin"}

    def test_get_and_copy_are_literal_too(self, fs, tmp_path) -> None:
        self.fill(fs)
        fs.get([f"{ROOT}/c?.bin"], [str(tmp_path / "out.bin")])
        assert (tmp_path / "out.bin").read_bytes() == b"question"
        fs.copy(f"{ROOT}/a[1].bin", f"{ROOT}/copied.bin")
        assert fs.cat(f"{ROOT}/copied.bin") == b"bracket"

    def test_a_pattern_that_names_no_key_still_globs(self, fs) -> None:
        self.fill(fs)
        got = fs.cat(f"{ROOT}/a?.bin")
        assert {path.rsplit("/", 1)[1] for path in got} == {"a1.bin"}
        assert len(fs.glob(f"{ROOT}/*.bin")) == len(MAGIC) + len(DECOYS)


class TestKeysNoSignerCanSend:
    @pytest.mark.parametrize("key", ["runs/\udc80.bin", "runs/a\ud800b", "\udfff"])
    def test_lone_surrogates_are_refused_by_the_guard(self, key: str) -> None:
        with pytest.raises(UnsafeKeyError, match="lone surrogate"):
            keys.check(key)
        with pytest.raises(UnsafeKeyError):
            keys.join("wandb", key)

    def test_lone_surrogates_through_byob_and_sign(self, fs, capsys, tmp_path) -> None:
        with pytest.raises(PermissionError, match="lone surrogate"):
            fs.pipe_file(f"{ROOT}/x\udc80.bin", b"x")
        config = tmp_path / "s3.toml"
        config.write_text(
            f'data_dir = "{tmp_path / "state"}"\n[instance]\nprovider = "aws"\nbucket = "b"\n'
            f'region = "{REGION}"\naccess_key = "{ACCESS_KEY}"\nsecret_key = "{SECRET_KEY}"\n',
        )
        code = main(["sign", "--config", str(config), "runs/\udc80.bin"])
        err = capsys.readouterr().err
        assert code == 2
        assert "lone surrogate U+DC80" in err
        assert "unexpected" not in err

    @pytest.mark.parametrize(
        "key", ["a.bin?versionId=abc", "runs/a.bin?VersionId=null", "a%3FversionId%3D1"]
    )
    def test_a_version_selector_in_a_key_is_refused(self, key: str) -> None:
        with pytest.raises(UnsafeKeyError, match=r"\?versionId="):
            keys.check(key)

    def test_a_version_selector_cannot_alias_another_object(self, fs) -> None:
        fs.pipe_file(f"{ROOT}/a.bin", b"original")
        with pytest.raises(PermissionError, match=r"\?versionId="):
            fs.pipe_file(f"{ROOT}/a.bin?versionId=null", b"overwritten")
        with pytest.raises(PermissionError, match=r"\?versionId="):
            fs.cat_file(f"{ROOT}/a.bin?versionId=null")
        with pytest.raises(PermissionError, match=r"\?versionId="):
            fs.rm(f"{ROOT}/a.bin?versionId=null")
        assert fs.cat_file(f"{ROOT}/a.bin") == b"original"

    def test_keys_with_question_marks_otherwise_work(self, fs) -> None:
        fs.pipe_file(f"{ROOT}/what?.bin", b"q")
        fs.pipe_file(f"{ROOT}/x?version=1", b"v")
        assert fs.cat_file(f"{ROOT}/what?.bin") == b"q"
        assert fs.cat([f"{ROOT}/x?version=1"]) == {"_instance/k/x?version=1": b"v"}
