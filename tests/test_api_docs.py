"""docs/api.md is executed: its TOML block is the configuration, its Python blocks run in order
in one namespace against a file store and a moto S3 server, and what they print is checked."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from byob_aws.testing import FAKE_ENV, moto_server

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "api.md"
DOC_ENDPOINT = "http://127.0.0.1:9000"


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", PAGE.read_text(), flags=re.S | re.M)


@pytest.fixture(scope="module")
def moto_endpoint():
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with moto_server() as endpoint:
            yield endpoint


@pytest.fixture(scope="module")
def ran(moto_endpoint, tmp_path_factory):
    """Run every Python block of the page; the namespace and everything printed."""
    work = tmp_path_factory.mktemp("api-docs")
    [config] = [b for b in blocks("toml")]
    config = config.replace("/srv/byob", str(work / "instance")).replace(
        DOC_ENDPOINT, moto_endpoint
    )
    (work / "byob.toml").write_text(f'data_dir = "{work / "state"}"\n' + config)
    namespace: dict[str, object] = {"__name__": "api_docs"}
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        mp.delenv("BYOB_CONFIG", raising=False)
        mp.setenv("BYOB_DATA_DIR", str(work / "state"))
        for number, code in enumerate(blocks("python"), 1):
            with contextlib.redirect_stdout(printed):
                try:
                    exec(compile(code, f"docs/api.md block {number}", "exec"), namespace)  # noqa: S102
                except Exception as exc:
                    raise AssertionError(
                        f"docs/api.md block {number} failed: {exc!r}\n{code}"
                    ) from exc
    return namespace, printed.getvalue()


class TestApiPage:
    def test_the_page_has_the_promised_examples(self) -> None:
        text = PAGE.read_text()
        for call in (
            "Byob.from_env(",
            "byob.resolve(",
            "byob.sign(",
            "byob.upload_file(",
            "progress=",
            "byob.validate(",
            "byob.plan(",
            "byob.provision(",
            "byob.gc(",
            "make_server(",
        ):
            assert call in text, call
        assert len(blocks("python")) >= 10

    def test_resolve_examples_print_what_their_comments_say(self, ran) -> None:
        _, out = ran
        assert "team s3://omega-ml/wandb" in out
        assert "instance file" in out
        assert "wandb/runs/a.bin" in out

    def test_signing_and_the_guard(self, ran) -> None:
        namespace, out = ran
        assert len(namespace["puts"]) == 100
        assert "refused:" in out

    def test_multipart_upload_went_in_two_parts_and_round_trips(self, ran) -> None:
        namespace, out = ran
        assert namespace["sent"].parts == 2
        assert "2 6291456" in out
        assert "83%" in out
        assert "100%" in out

    def test_validation_passed_on_the_provisioned_store(self, ran) -> None:
        namespace, _ = ran
        assert namespace["applied"].applied
        assert namespace["byob"].last_validation("omega") is not None

    def test_gc_deleted_only_what_is_not_live(self, ran) -> None:
        namespace, out = ran
        assert "['wandb/runs/model-2.bin']" in out
        assert namespace["done"].deleted == 1
        fs = namespace["fs"]
        fs.invalidate_cache()  # the page listed runs/ before the collection
        assert fs.exists("byob://omega/runs/model.bin")
        assert not fs.exists("byob://omega/runs/model-2.bin")

    def test_the_web_handler_signed_for_the_team_and_refused_an_escape(self, ran) -> None:
        namespace, out = ran
        assert [u["method"] for u in namespace["urls"]] == ["PUT", "PUT"]
        assert "omega-ml/wandb/runs/a.bin" in namespace["urls"][0]["url"]
        assert "X-User=alice" in namespace["urls"][0]["url"]
        assert re.search(r"^400 ", out, flags=re.M)
