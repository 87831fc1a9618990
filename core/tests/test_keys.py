"""The key guard: keys become ``<subpath>/<key>``, and no accepted key can leave its prefix."""

from __future__ import annotations

import posixpath
from urllib.parse import quote, unquote

import pytest
from byob_core import keys
from byob_core.errors import UnsafeKeyError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SUB = "teams/omega"


class TestAcceptedKeys:
    @pytest.mark.parametrize(
        "key",
        [
            "runs/abc/file.bin",
            "a",
            "a..b",
            ".hidden",
            "runs/.hidden/x",
            "...",
            "x.",
            "..x",
            "a/b..",
            "100%",
            "100%/done",
            "%zz",
            "%2",
            "a%2Fb",  # decodes to a/b: still inside
            "ünïcödé/文件/файл.bin",
            "emoji-🪣/🔑",
            "\u2028line-separator",
            "with space/ and tabs?no#frag&q=1",
            "\uff41\uff42\uff43",  # fullwidth letters
            "\uff0e\uff0e",  # fullwidth dots are other characters, not ".."
        ],
    )
    def test_accepted_unchanged(self, key: str) -> None:
        assert keys.check(key) == key
        assert keys.join(SUB, key) == f"{SUB}/{key}"

    def test_no_subpath_gives_the_key_itself(self) -> None:
        assert keys.join("", "a/b") == "a/b"


class TestRefusedKeys:
    @pytest.mark.parametrize(
        ("key", "why"),
        [
            ("", "empty"),
            ("..", r"'\.\.' path segment"),
            (".", r"'\.' path segment"),
            ("../x", r"'\.\.' path segment"),
            ("a/../../x", r"'\.\.' path segment"),
            ("a/./b", r"'\.' path segment"),
            ("a/..", r"'\.\.' path segment"),
            ("a//b", "empty path segment"),
            ("a/", "empty path segment"),
            ("/abs", "absolute path"),
            ("//abs", "absolute path"),
            ("a\\b", "backslash"),
            ("..\\x", "backslash"),
            ("\\abs", "backslash"),
            ("a\x00b", "NUL"),
            ("a\nb", "U\\+000A"),
            ("a\rb", "U\\+000D"),
            ("a\tb", "U\\+0009"),
            ("\x1b[31m", "U\\+001B"),
            ("a\x7fb", "U\\+007F"),
            ("a\x85b", "U\\+0085"),  # C1 next line
            ("a\x9bb", "U\\+009B"),  # C1 CSI
        ],
    )
    def test_refused_with_a_clear_error(self, key: str, why: str) -> None:
        with pytest.raises(UnsafeKeyError, match=why):
            keys.check(key)
        with pytest.raises(UnsafeKeyError):
            keys.join(SUB, key)

    @pytest.mark.parametrize(
        "key",
        [
            "%2e%2e",
            "%2E%2E",
            "%2e",
            ".%2e",
            "%2e./x",
            "a/%2e%2e/b",
            "a%2f..%2fb",
            "a%2F%2E%2E%2Fb",
            "%2fabs",
            "%2Fetc%2Fpasswd",
            "a%2f%2fb",
            "a%2f",
            "a%5cb",
            "%5C..%5Cx",
            "a%00b",
            "a%0ab",
            "a%0Db",
            "a%1bb",
            "a%7fb",
            "a%c2%85b",  # C1 NEL as UTF-8
            "a%C2%9Bb",
            # double and deeper encodings
            "%252e%252e",
            "a%252f..%252fb",
            "%25252e%25252e",
            "a%255cb",
            "a%2500b",
            "%252F",
        ],
    )
    def test_percent_encoded_forms_are_refused(self, key: str) -> None:
        with pytest.raises(UnsafeKeyError, match=r"decoded|too many"):
            keys.check(key)

    def test_the_error_shows_the_decoded_form(self) -> None:
        with pytest.raises(UnsafeKeyError, match=r"decoded: \.\./x"):
            keys.check("%2e%2e%2fx")

    def test_an_absurdly_deep_encoding_is_refused(self) -> None:
        key = "x"
        for _ in range(12):
            key = quote(key + "%", safe="")
        with pytest.raises(UnsafeKeyError):
            keys.check(key)

    def test_a_non_string_is_refused(self) -> None:
        with pytest.raises(UnsafeKeyError, match="must be a string"):
            keys.check(b"abc")  # type: ignore[arg-type]

    def test_the_error_hints_at_a_good_key(self) -> None:
        with pytest.raises(UnsafeKeyError) as caught:
            keys.check("../x")
        assert "runs/abc/file.bin" in caught.value.hint

    def test_errors_are_value_errors(self) -> None:
        with pytest.raises(ValueError):
            keys.check("..")


class TestReservedPrefix:
    def test_byobs_own_prefix_is_refused_for_users(self) -> None:
        with pytest.raises(UnsafeKeyError, match="reserved"):
            keys.join(SUB, f"{keys.RESERVED}/store.json")

    def test_the_core_may_use_it(self) -> None:
        assert (
            keys.join(SUB, f"{keys.RESERVED}/x", allow_reserved=True) == f"{SUB}/{keys.RESERVED}/x"
        )

    def test_a_name_that_merely_starts_like_it_is_fine(self) -> None:
        assert keys.join(SUB, ".byobx/a") == f"{SUB}/.byobx/a"


class TestSubpath:
    def test_slashes_are_trimmed(self) -> None:
        assert keys.check_subpath("/teams/omega/") == "teams/omega"

    @pytest.mark.parametrize("subpath", ["a/../b", "..", "a//b", "a\\b", "%2e%2e", "a\x00"])
    def test_an_unsafe_subpath_is_refused_as_a_sub_path(self, subpath: str) -> None:
        with pytest.raises(UnsafeKeyError, match="sub-path"):
            keys.check_subpath(subpath)


class TestRelative:
    def test_relative_inverts_join(self) -> None:
        assert keys.relative(SUB, keys.join(SUB, "a/b")) == "a/b"

    @pytest.mark.parametrize(
        "full",
        [
            "teams/omegaX/a",
            "teams/omega",
            "teams/omega/",
            "other/a",
            "teams/omega/../x",
            "teams/omega//a",
        ],
    )
    def test_outside_or_unsafe_full_keys_are_refused(self, full: str) -> None:
        with pytest.raises(UnsafeKeyError):
            keys.relative(SUB, full)
        assert not keys.is_inside(SUB, full)

    def test_is_inside(self) -> None:
        assert keys.is_inside(SUB, "teams/omega/a")


# -- the property -----------------------------------------------------------------------------
# Hypothesis costs about a millisecond per example here, so 100,000 examples of one key
# each would take minutes. Each example instead draws one byte string and decodes it into
# many keys: a byte below SEPARATORS ends a key, any other byte picks a piece from TABLE.
# The pieces are biased towards what breaks path handling ('.', '/', '\\', '%', '2e',
# '2f', '5c', '00', control characters, look-alike unicode), so '..', '%2e%2E', '%252f'
# and the like come up constantly, while plain and unicode pieces keep accepted keys
# common. Hypothesis still shrinks a failure (shorter bytes, smaller byte values).
_PIECES = [
    ".",
    ".",
    "..",
    "/",
    "/",
    "\\",
    "%",
    "%",
    "2e",
    "2E",
    "2f",
    "2F",
    "5c",
    "5C",
    "00",
    "25",
    "c2",
    "85",
    "%2e",
    "%2f",
    "%5c",
    "%00",
    "%25",
    "%c0%ae",
    "a",
    "b",
    "x.y",
    "é",
    "文",
    "🪣",
    "\u2028",
    "\u200b",
    "\ufeff",
    "\uff0e",
    "\u0301",
    "\x00",
    "\x01",
    "\x1f",
    "\x7f",
    "\x85",
    "\x9f",
    "\t",
    "\n",
    "\r",
    " ",
    "~",
    "?",
    "#",
]
SEPARATORS = 32
TABLE = [_PIECES[i % len(_PIECES)] for i in range(256 - SEPARATORS)]
SUBPATHS = ["wandb", "teams/omega", "a.b/c..d"]
KEYS_WANTED = 100_000
EXAMPLES = 3_000
BLOB = st.binary(min_size=300, max_size=500)


def keys_of(blob: bytes) -> list[str]:
    """Decode a byte string into keys (see the comment above)."""
    found: list[str] = []
    current: list[str] = []
    for byte in blob:
        if byte < SEPARATORS:
            if current:
                found.append("".join(current))
                current = []
        else:
            current.append(TABLE[byte - SEPARATORS])
    if current:
        found.append("".join(current))
    return found


def _decodings(key: str) -> list[str]:
    """`key` and each successive percent-decoding of it, as a server or proxy might apply."""
    forms = [key]
    for _ in range(10):
        nxt = unquote(forms[-1], errors="replace")
        if nxt == forms[-1]:
            break
        forms.append(nxt)
    return forms


def _holds(sub: str, key: str, counts: dict[str, int]) -> None:
    try:
        full = keys.join(sub, key)
    except UnsafeKeyError:
        counts["refused"] += 1
        return
    counts["accepted"] += 1
    assert full == f"{sub}/{key}"
    for form in _decodings(key):
        for text in (form, form.replace("\\", "/")):
            resolved = posixpath.normpath(posixpath.join(sub, text))
            assert resolved.startswith(sub + "/"), (key, form, resolved)
            assert "\x00" not in text
    assert keys.relative(sub, full) == key


def test_no_accepted_key_resolves_outside_its_prefix() -> None:
    """Over at least 100,000 generated keys: whatever the guard accepts stays under
    ``<subpath>/`` after normalisation, raw and in every percent-decoded form, also when
    backslashes are read as separators."""
    counts = {"accepted": 0, "refused": 0}

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(blob=BLOB, sub=st.sampled_from(SUBPATHS))
    def check(blob: bytes, sub: str) -> None:
        for key in keys_of(blob):
            _holds(sub, key, counts)

    check()
    # The property held over enough keys, and both sides of the guard were exercised.
    assert counts["accepted"] + counts["refused"] >= KEYS_WANTED, counts
    assert counts["accepted"] >= KEYS_WANTED // 10, counts
    assert counts["refused"] >= KEYS_WANTED // 10, counts


@settings(max_examples=2_000, deadline=None, database=None)
@given(key=st.text(min_size=1, max_size=30), sub=st.sampled_from(SUBPATHS))
def test_no_accepted_unicode_key_resolves_outside_its_prefix(key: str, sub: str) -> None:
    """The same property over hypothesis's full unicode text (any code point)."""
    _holds(sub, key, {"accepted": 0, "refused": 0})


def test_the_generator_produces_the_dangerous_forms() -> None:
    """A guard on the property test: its decoder can spell the classic escapes."""
    table = {piece: bytes([SEPARATORS + TABLE.index(piece)]) for piece in set(TABLE)}
    blob = table["%2e"] + table["%2e"] + table["/"] + table["a"] + bytes([0]) + table[".."]
    assert keys_of(blob) == ["%2e%2e/a", ".."]


class TestFastPath:
    """`full_key` (the signing hot path) gives exactly what `join` gives, or the same error."""

    @settings(max_examples=2000, suppress_health_check=[HealthCheck.too_slow])
    @given(
        key=st.one_of(
            st.text(max_size=30),
            st.lists(
                st.sampled_from(["a", ".", "..", "", "%", "%2e", "\\", ".byob", " ", "~", "\x7f"]),
                max_size=6,
            ).map("/".join),
        ),
        subpath=st.sampled_from(["", "teams/omega"]),
    )
    def test_agrees_with_join(self, key: str, subpath: str) -> None:
        prefix = f"{subpath}/" if subpath else ""
        outcomes = []
        for join in (lambda: keys.join(subpath, key), lambda: keys.full_key(prefix, key)):
            try:
                outcomes.append(("ok", join()))
            except UnsafeKeyError as exc:
                outcomes.append(("refused", str(exc)))
        assert outcomes[0] == outcomes[1]

    @pytest.mark.parametrize("key", ["../x", "a/./b", "a//b", "/a", "a/", ".byob", ".byob/x"])
    def test_refuses_what_join_refuses(self, key: str) -> None:
        with pytest.raises(UnsafeKeyError):
            keys.full_key("sub/", key)

    def test_a_non_string_is_refused(self) -> None:
        with pytest.raises(UnsafeKeyError):
            keys.full_key("", 5)  # type: ignore[arg-type]
