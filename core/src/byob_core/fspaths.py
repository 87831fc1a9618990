"""Path translation of the ``byob://`` filesystem (`byob_core.fs.ByobFileSystem`).

A byob path ``<team>/<key>`` becomes a team's `_Place` (its store and the provider
filesystem), the key (through the key guard, `byob_core.keys`) and the provider path;
names and info coming back from the provider become byob paths again, and provider
errors are translated to builtin `OSError` types that name byob paths only.
"""

from __future__ import annotations

import errno
import functools
import inspect
import os
import re
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from fsspec.spec import AbstractFileSystem

from byob_core import keys
from byob_core.config import INSTANCE, check_team_name
from byob_core.errors import ByobError, ConfigError, UnsafeKeyError

if TYPE_CHECKING:
    from fsspec.spec import AbstractFileSystem as _Base

    from byob_core.fs import ByobFileSystem
    from byob_core.stores import Store
else:
    _Base = object

_MAGIC = frozenset("*?[")

_F = TypeVar("_F", bound=Callable[..., Any])


class _Place:
    """One team's view of its store: the provider filesystem and the root every key hangs from."""

    __slots__ = (
        "_bucket",
        "_bucket_word",
        "afs",
        "fs",
        "hidden",
        "key_prefix",
        "prefix",
        "root",
        "store",
        "team",
    )

    def __init__(
        self, team: str, store: Store, fs: AbstractFileSystem, hidden: tuple[str, ...]
    ) -> None:
        self.team = team
        self.store = store
        self.fs = fs
        # The provider's own form of the root (LocalFileSystem makes it absolute), so
        # that names it returns can be matched against it.
        self.root = fs._strip_protocol(store.fs_path(store.subpath)).rstrip("/") or "/"
        self.prefix = self.root.rstrip("/") + "/"
        #: The store's key prefix (``"<subpath>/"`` or ``""``), for the key guard.
        self.key_prefix = store.prefix
        # The bucket as a segment of a path or URL (gcsfs's selfLink, b/<bucket>/o/...).
        bucket = re.escape(store.bucket.strip("/"))
        self._bucket = re.compile(r"(?:^|[/:@'\"])" + bucket + r"(?:[/?#'\"]|$)")
        #: The same, also as a word of prose (``NoSuchBucket: <bucket>``), for messages.
        self._bucket_word = re.compile(r"(?:^|[\s/:@'\"(])" + bucket + r"(?:[\s/?#'\".,;)]|$)")
        #: Keys under this store that belong to another configured store (nested sub-paths).
        self.hidden = hidden
        #: Async twins of `fs`, one per event loop (see `ByobFileSystem._async_fs`).
        self.afs: weakref.WeakKeyDictionary[Any, AbstractFileSystem] = weakref.WeakKeyDictionary()

    def is_async(self) -> bool:
        return bool(getattr(self.fs, "async_impl", False))

    def byob_name(self, provider_path: str) -> str | None:
        """``<team>/<key>`` for a name the provider returned, or None when it must not show."""
        path = provider_path.rstrip("/")
        if path == self.root:
            return self.team
        if not path.startswith(self.prefix):
            return None
        key = path[len(self.prefix) :]
        if keys.is_reserved(key) or self.is_hidden(key):
            return None
        try:
            keys.check(key)
        except UnsafeKeyError:
            return None  # a name no byob path can address (another tool wrote it)
        return f"{self.team}/{key}"

    def names_bucket(self, text: str, *, prose: bool = False) -> bool:
        """Whether `text` (a provider field; with `prose`, an error message) names the bucket."""
        return (self._bucket_word if prose else self._bucket).search(text) is not None

    def is_hidden(self, key: str) -> bool:
        return any(key == h or key.startswith(h + "/") for h in self.hidden)


def _refused(path: Any, why: str) -> PermissionError:
    return PermissionError(errno.EACCES, why, str(path))


def _has_magic(path: str) -> bool:
    return not _MAGIC.isdisjoint(path)


# -- error translation at the boundary ------------------------------------------------------

_OS_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    TimeoutError,
    ConnectionError,
)


def _translated(method: _F) -> _F:
    """Raise only builtin `OSError` types, with byob paths in place of the provider's."""
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def awrapper(self: ByobFileSystem, *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, *args, **kwargs)
            except (OSError, ByobError) as exc:
                new = self._translate(exc, args[0] if args else None)
                if new is exc:
                    raise
                raise new from None

        return awrapper  # type: ignore[return-value]

    @functools.wraps(method)
    def wrapper(self: ByobFileSystem, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (OSError, ByobError) as exc:
            new = self._translate(exc, args[0] if args else None)
            if new is exc:
                raise
            raise new from None

    return wrapper  # type: ignore[return-value]


class _PathsMixin(_Base):  # type: ignore[misc]
    """`ByobFileSystem`'s path translation: byob path to (place, key, provider path) and back."""

    _places: dict[str, _Place]  # set by ByobFileSystem.__init__

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = path if isinstance(path, str) else os.fspath(path)
        if text.startswith("byob://"):
            text = text[7:]
        elif text.startswith("byob::"):
            text = text[6:]
        return text.rstrip("/")

    def unstrip_protocol(self, name: str) -> str:
        return name if name.startswith("byob://") else f"byob://{name}"

    def _place(self, team: str) -> _Place:
        place = self._places.get(team)
        if place is not None:
            return place
        if team in ("", ".", ".."):
            raise _refused(team, "byob:// paths start with a team name: byob://<team>/<key>")
        try:
            keys.check(team)
        except UnsafeKeyError as exc:
            raise _refused(team, f"team name refused: {exc}") from None
        if team != INSTANCE:
            try:
                check_team_name(team)
            except ConfigError as exc:
                raise FileNotFoundError(errno.ENOENT, str(exc), team) from None
        with self._places_lock:
            place = self._places.get(team)
            if place is None:
                try:
                    # Also refuses a team whose store moved since `team create`, and what
                    # the visibility rule hides from the reader (both PermissionError).
                    store = self.byob.resolve(team, reader=self.reader).store
                except ConfigError as exc:  # no team store and no instance store (SaaS)
                    raise FileNotFoundError(errno.ENOENT, str(exc), team) from None
                fs = self.byob.filesystem(store)
                place = _Place(team, store, fs, self._nested(store, fs))
                self._places[team] = place
        return place

    def _nested(self, store: Store, fs: AbstractFileSystem) -> tuple[str, ...]:
        """Relative keys of `store` that are the roots of other configured stores."""
        mine = fs._strip_protocol(store.fs_path(store.subpath)).rstrip("/") + "/"
        family, where = store.identity[:2]
        found = []
        for other in self.byob.config.stores().values():
            if other.identity[:2] != (family, where) or other == store:
                continue
            theirs = fs._strip_protocol(other.fs_path(other.subpath)).rstrip("/")
            if theirs.startswith(mine):
                found.append(theirs[len(mine) :])
        return tuple(sorted(found))

    def _locate(self, path: Any) -> tuple[_Place, str, str]:
        """(place, key, provider path) of a byob path; key is ``""`` at the team root."""
        text = self._strip_protocol(path)
        if text.startswith("/"):
            raise _refused(path, "byob:// paths are relative to a team: byob://<team>/<key>")
        team, _, key = text.partition("/")
        place = self._place(team)
        if not key:
            return place, "", place.root
        try:
            keys.full_key(place.key_prefix, key)
        except UnsafeKeyError as exc:
            raise _refused(path, str(exc)) from None
        if place.hidden and place.is_hidden(key):
            raise _refused(path, f"key {key!r} belongs to another configured store")
        return place, key, place.prefix + key

    def _file(self, path: Any) -> tuple[_Place, str, str]:
        place, key, fpath = self._locate(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "the root of a team is a directory", str(path))
        return place, key, fpath

    def _check_pattern(self, path: Any) -> None:
        """Glob patterns pass the same guard as paths (``omega/../kappa/*`` is refused)."""
        paths = path if isinstance(path, list) else [path]
        for item in paths:
            self._locate(item)

    # -- names coming back --------------------------------------------------------------
    def _names(self, place: _Place, names: list[str]) -> list[str]:
        out = []
        for name in names:
            mapped = place.byob_name(name)
            if mapped is not None:
                out.append(mapped)
        return out

    def _entry(self, place: _Place, info: Mapping[str, Any]) -> dict[str, Any] | None:
        name = place.byob_name(info["name"])
        if name is None:
            return None
        entry = {}
        for field, value in info.items():
            if (
                isinstance(value, str)
                and field != "name"
                and (
                    value == place.root
                    or value.startswith(place.prefix)
                    or value == place.store.bucket
                )
            ):
                mapped = place.byob_name(value)
                if mapped is None:
                    continue  # a provider field that names the bucket: never shown
                value = mapped
            elif isinstance(value, str) and place.names_bucket(value):
                continue  # a link or id with the bucket in it (gcsfs selfLink, mediaLink, id)
            entry[field] = value
        entry["name"] = name
        return entry

    def _entries(self, place: _Place, infos: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in (self._entry(place, info) for info in infos) if e is not None]

    def _detail_map(self, place: _Place, found: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        out = {}
        for info in found.values():
            entry = self._entry(place, info)
            if entry is not None:
                out[entry["name"]] = entry
        return out

    # -- errors -------------------------------------------------------------------------
    def _translate(self, exc: BaseException, path: Any = None) -> BaseException:
        """The error to raise for `exc`: a builtin `OSError` type naming byob paths only."""
        if isinstance(exc, UnsafeKeyError):
            return PermissionError(errno.EACCES, str(exc))
        if isinstance(exc, ByobError):
            if isinstance(exc, OSError):
                return exc
            if isinstance(exc, LookupError):
                return FileNotFoundError(errno.ENOENT, str(exc))
            if isinstance(exc, (NotImplementedError, ValueError)):
                # What a filesystem cannot do, and bad arguments (a lifetime out of
                # bounds): fsspec raises NotImplementedError and ValueError for those too.
                return exc
            return OSError(errno.EIO, str(exc))
        assert isinstance(exc, OSError)
        cls = next((c for c in _OS_ERRORS if isinstance(exc, c)), OSError)
        places = sorted(self._places.values(), key=lambda p: -len(p.root))

        shown = self._strip_protocol(path) if isinstance(path, str) else None

        def scrub(text: str) -> str:
            for place in places:
                text = text.replace(place.prefix, place.team + "/").replace(place.root, place.team)
                if place.names_bucket(text, prose=True):
                    # Another spelling of a provider path (a URL, an encoded key, the bare
                    # bucket name): the words that hold it give way to the byob path.
                    text = re.sub(
                        r"\S+",
                        lambda m, p=place: (  # type: ignore[misc]
                            (shown or p.team)
                            if p.names_bucket(m.group(), prose=True)
                            else m.group()
                        ),
                        text,
                    )
            return text

        if exc.errno is not None and exc.strerror is not None:
            args: list[Any] = [exc.errno, scrub(str(exc.strerror))]
            if exc.filename is not None:
                args.append(scrub(str(exc.filename)))
            elif isinstance(path, str):
                args.append(path)
            new = cls(*args)
        else:
            new = cls(scrub(str(exc)))
        if type(exc) is cls and str(new) == str(exc):
            return exc
        return new
