"""The inputs of garbage collection: grace durations, live-key sources, options."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from byob_core.errors import ByobError, GcError
from byob_core.gc import GcInputError, GcOptions, default_journal, load_live_keys, parse_duration
from byob_core.stores import Store


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("90s", dt.timedelta(seconds=90)),
            ("30m", dt.timedelta(minutes=30)),
            ("24h", dt.timedelta(hours=24)),
            ("7d", dt.timedelta(days=7)),
            ("2w", dt.timedelta(weeks=2)),
            ("1d12h", dt.timedelta(days=1, hours=12)),
            (" 1h 30m ", dt.timedelta(hours=1, minutes=30)),
            ("0s", dt.timedelta(0)),
            ("36H", dt.timedelta(hours=36)),
        ],
    )
    def test_accepts_number_and_unit(self, text: str, expected: dt.timedelta) -> None:
        assert parse_duration(text) == expected

    @pytest.mark.parametrize("text", ["", "24", "h", "-1h", "1.5h", "1y", "1h-", "soon", "h24"])
    def test_refuses_anything_else_with_a_hint(self, text: str) -> None:
        with pytest.raises(GcInputError, match="invalid duration") as info:
            parse_duration(text)
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, ByobError)
        assert "24h" in str(info.value)  # the hint shows the accepted form


class TestLoadLiveKeysFromLines:
    def test_one_key_per_line_blank_lines_ignored(self, tmp_path) -> None:
        path = tmp_path / "live.txt"
        path.write_text("runs/a.bin\n\nruns/b.bin\r\n   \nruns/a.bin\n", encoding="utf-8")
        live = load_live_keys(path)
        assert live.keys == {"runs/a.bin", "runs/b.bin"}
        assert live.source == str(path)

    def test_accepts_a_string_path_and_a_utf8_bom(self, tmp_path) -> None:
        path = tmp_path / "live.txt"
        path.write_bytes("\ufeffrüns/ä.bin\n".encode())
        assert load_live_keys(str(path)).keys == {"rüns/ä.bin"}

    def test_surrounding_blanks_keep_both_readings(self, tmp_path) -> None:
        path = tmp_path / "live.txt"
        path.write_text("runs/a.bin  \n", encoding="utf-8")
        assert load_live_keys(path).keys == {"runs/a.bin  ", "runs/a.bin"}

    def test_bad_key_names_its_line(self, tmp_path) -> None:
        path = tmp_path / "live.txt"
        path.write_text("runs/a.bin\nruns/b.bin\n../escape\n", encoding="utf-8")
        with pytest.raises(GcInputError, match=r"line 3: .*'\.\./escape'"):
            load_live_keys(path)

    def test_absolute_key_is_refused(self, tmp_path) -> None:
        path = tmp_path / "live.txt"
        path.write_text("/team/runs/a.bin\n", encoding="utf-8")
        with pytest.raises(GcInputError, match=r"line 1: .*absolute"):
            load_live_keys(path)

    def test_missing_file_is_an_input_error(self, tmp_path) -> None:
        with pytest.raises(GcInputError, match="cannot read live-key file") as info:
            load_live_keys(tmp_path / "nope.txt")
        assert isinstance(info.value, GcError)

    def test_a_directory_is_an_input_error(self, tmp_path) -> None:
        with pytest.raises(GcInputError, match="cannot read"):
            load_live_keys(tmp_path)

    def test_binary_file_is_an_input_error(self, tmp_path) -> None:
        path = tmp_path / "live.bin"
        path.write_bytes(b"\xff\xfe\x00garbage")
        with pytest.raises(GcInputError, match="not UTF-8"):
            load_live_keys(path)


class TestLoadLiveKeysFromJson:
    def test_json_list_detected_by_content(self, tmp_path) -> None:
        path = tmp_path / "live.txt"  # the name does not matter
        path.write_text('\n  ["runs/a.bin", "runs/b.bin"]\n', encoding="utf-8")
        assert load_live_keys(path).keys == {"runs/a.bin", "runs/b.bin"}

    def test_truncated_json_is_refused_not_read_as_lines(self, tmp_path) -> None:
        path = tmp_path / "live.json"
        path.write_text('["runs/a.bin", "runs/b', encoding="utf-8")
        with pytest.raises(GcInputError, match="not valid JSON"):
            load_live_keys(path)

    def test_json_items_must_be_strings(self, tmp_path) -> None:
        path = tmp_path / "live.json"
        path.write_text('["runs/a.bin", 3]', encoding="utf-8")
        with pytest.raises(GcInputError, match="item 2: a live key must be a string"):
            load_live_keys(path)

    def test_json_bad_key_names_its_item(self, tmp_path) -> None:
        path = tmp_path / "live.json"
        path.write_text(json.dumps(["a", "b", "c//d"]), encoding="utf-8")
        with pytest.raises(GcInputError, match=r"item 3: .*empty path segment"):
            load_live_keys(path)


class TestLoadLiveKeysFromIterable:
    def test_any_iterable_of_strings(self) -> None:
        live = load_live_keys(key for key in ["a", "b/c"])
        assert live.keys == {"a", "b/c"}
        assert "b/c" in live
        assert len(live) == 2

    def test_digest_depends_on_the_set_only(self) -> None:
        assert load_live_keys(["a", "b"]).digest == load_live_keys(["b", "a", "a"]).digest
        assert load_live_keys(["a", "b"]).digest != load_live_keys(["a", "c"]).digest

    def test_non_string_item(self) -> None:
        with pytest.raises(GcInputError, match="item 1: a live key must be a string, not bytes"):
            load_live_keys([b"a"])  # type: ignore[list-item]

    def test_not_iterable(self) -> None:
        with pytest.raises(GcInputError, match="iterable of strings"):
            load_live_keys(42)  # type: ignore[arg-type]

    def test_a_live_set_passes_through(self) -> None:
        live = load_live_keys(["a"])
        assert load_live_keys(live) is live


class TestGcOptions:
    def test_defaults(self) -> None:
        options = GcOptions()
        assert options.grace == dt.timedelta(hours=24)
        assert not options.dry_run
        assert not options.purge_versions
        assert not options.abort_uploads
        assert options.batch_size is None
        assert options.journal is None

    def test_grace_as_text(self) -> None:
        assert GcOptions(grace="7d").grace == dt.timedelta(days=7)

    def test_negative_grace_refused(self) -> None:
        with pytest.raises(GcInputError, match="negative"):
            GcOptions(grace=dt.timedelta(seconds=-1))

    def test_batch_size_at_least_one(self) -> None:
        with pytest.raises(GcInputError, match="at least 1"):
            GcOptions(batch_size=0)

    def test_journal_defaults_under_the_data_dir_one_per_store(self, tmp_path) -> None:
        a = Store(provider="file", bucket=str(tmp_path / "b"), subpath="team-a")
        b = Store(provider="file", bucket=str(tmp_path / "b"), subpath="team-b")
        options = GcOptions(data_dir=tmp_path / "data")
        assert options.journal_for(a) == default_journal(tmp_path / "data", a)
        assert options.journal_for(a).parent == tmp_path / "data" / "gc"
        assert options.journal_for(a) != options.journal_for(b)
        assert GcOptions().journal_for(a) is None
        explicit = GcOptions(journal=tmp_path / "j.json", data_dir=tmp_path / "data")
        assert explicit.journal_for(a) == tmp_path / "j.json"
