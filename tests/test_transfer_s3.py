"""`Byob.upload_file` / `download_file` against moto: parts carry Content-MD5, progress is
reported per part, a failed part aborts the upload, a missing object is FileNotFoundError."""

from __future__ import annotations

import os

import boto3
import pytest
from byob_aws.testing import ACCESS_KEY, FAKE_ENV, REGION, SECRET_KEY, moto_server
from byob_core import ByobError
from byob_core.api import Byob
from byob_core.config import from_mapping

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def endpoint():
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with moto_server() as url:
            yield url


@pytest.fixture(scope="module")
def s3(endpoint):
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket="transfer")
    return client


@pytest.fixture
def byob(endpoint, s3, tmp_path) -> Byob:
    config = from_mapping(
        {
            "data_dir": str(tmp_path / "state"),
            "instance": {
                "provider": "aws",
                "bucket": "transfer",
                "subpath": "wandb",
                "region": REGION,
                "endpoint": endpoint,
                "path_style": True,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
            },
        }
    )
    return Byob(config)


class TestUploadFile:
    def test_parts_and_progress(self, byob, s3, tmp_path) -> None:
        source = tmp_path / "big.bin"
        source.write_bytes(os.urandom(11 * MiB))
        seen: list[tuple[int, int]] = []
        sent = byob.upload_file(
            source, "runs/big.bin", part_size=5 * MiB, progress=lambda d, t: seen.append((d, t))
        )
        assert sent.parts == 3
        assert seen == [(5 * MiB, 11 * MiB), (10 * MiB, 11 * MiB), (11 * MiB, 11 * MiB)]
        head = s3.head_object(Bucket="transfer", Key="wandb/runs/big.bin")
        assert head["ContentLength"] == 11 * MiB
        assert head["ETag"].strip('"').endswith("-3")
        back = tmp_path / "back.bin"
        byob.download_file("runs/big.bin", back)
        assert back.read_bytes() == source.read_bytes()

    def test_a_failed_part_aborts_the_upload(self, byob, s3, tmp_path, monkeypatch) -> None:
        from byob_core import transfer

        source = tmp_path / "two.bin"
        source.write_bytes(os.urandom(6 * MiB))
        real = transfer._send
        calls = []

        def flaky(request, body=None, timeout=60.0):
            calls.append(request)
            if len(calls) == 2:
                raise ByobError("PUT of part 2 failed: HTTP 500")
            return real(request, body, timeout)

        monkeypatch.setattr(transfer, "_send", flaky)
        with pytest.raises(ByobError, match="part 2"):
            byob.upload_file(source, "runs/two.bin", part_size=5 * MiB)
        assert s3.list_multipart_uploads(Bucket="transfer").get("Uploads", []) == []
        assert "Contents" not in s3.list_objects_v2(Bucket="transfer", Prefix="wandb/runs/two.bin")

    def test_a_part_size_below_5_mib_is_refused(self, byob, tmp_path) -> None:
        source = tmp_path / "s.bin"
        source.write_bytes(b"s")
        with pytest.raises(ByobError, match="5 MiB"):
            byob.upload_file(source, "s.bin", part_size=1024)

    def test_a_small_file_is_one_put_and_an_escape_is_refused(self, byob, s3, tmp_path) -> None:
        from byob_core import UnsafeKeyError

        source = tmp_path / "small.txt"
        source.write_bytes(b"hello")
        sent = byob.upload_file(source, "notes/small.txt", content_type="text/plain")
        assert sent.parts == 1 and sent.etag
        head = s3.head_object(Bucket="transfer", Key="wandb/notes/small.txt")
        assert head["ContentType"] == "text/plain"
        with pytest.raises(UnsafeKeyError):
            byob.upload_file(source, "../outside.txt")

    def test_downloading_a_missing_object(self, byob, tmp_path) -> None:
        with pytest.raises(FileNotFoundError):
            byob.download_file("nope.bin", tmp_path / "nope")
        assert not (tmp_path / "nope").exists()
