"""The ``byob://<team>/<key>`` fsspec filesystem: team-scoped storage for tools that only know URLs.

``byob://omega/runs/a.bin`` is key ``runs/a.bin`` in the store that serves team
``omega`` (its team store, else the instance store); ``byob://_instance/...``
addresses the instance store. Every path goes through the key guard on the way in
(no ``..``, absolute paths, percent-encoded escapes, nor byob's own ``.byob/``
prefix), and every name that comes back is mapped to ``<team>/<key>``, so neither
the bucket nor the sub-path ever shows. The work itself is done by the provider
plugin's own fsspec filesystem (local, s3fs, gcsfs, adlfs), like fsspec's
`DirFileSystem`: awaited directly where it is async, in a worker thread where it is
not, so an event loop is never blocked.

>>> import fsspec
>>> fs = fsspec.filesystem("byob", config_data={"data_dir": "/tmp/byob-fs-doc"})
>>> fs.pipe_file("byob://omega/notes/a.txt", b"hello")
>>> fs.ls("omega/notes", detail=False)
['omega/notes/a.txt']
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import inspect
import json
import os
import re
import shutil
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from fsspec.asyn import AsyncFileSystem, sync
from fsspec.callbacks import DEFAULT_CALLBACK
from fsspec.spec import AbstractFileSystem

from byob_core import keys
from byob_core.config import INSTANCE, check_team_name
from byob_core.config import from_mapping as config_from_mapping
from byob_core.errors import ByobError, ConfigError, UnsafeKeyError
from byob_core.files import ByobAsyncFile, ByobFile

if TYPE_CHECKING:
    from byob_core.api import Byob
    from byob_core.stores import Store

PROTOCOL = "byob"
_MAGIC = frozenset("*?[")
#: Environment variables that decide which configuration `Byob.from_env` loads.
_CONFIG_ENV = (
    "BYOB_CONFIG",
    "BYOB_DATA_DIR",
    "XDG_DATA_HOME",
    "GORILLA_SUPPORTED_FILE_STORES",
    "BYOB_DISABLE_PLUGINS",
    "AWS_REGION",
)
_F = TypeVar("_F", bound=Callable[..., Any])


# -- one loaded configuration per source, shared by every filesystem instance --------------

_byob_cache: dict[tuple[Any, ...], Byob] = {}
_byob_lock = threading.Lock()


#: The environment variables a configuration stamp reads (HOME: the default data
#: directory is under it).
_STAMP_ENV = (*_CONFIG_ENV, "HOME")
_ENVIRON = os.environ
_ENV_DATA: Any = getattr(os.environ, "_data", None)
_ENV_KEYS: tuple[Any, ...] = (
    tuple(os.environ.encodekey(name) for name in _STAMP_ENV) if _ENV_DATA is not None else ()
)
_paths: dict[tuple[Any, ...], str] = {}


def _env_values() -> tuple[Any, ...]:
    """The values of `_STAMP_ENV`, read straight from os.environ's mapping when it can.

    This runs on every ``fsspec.open("byob://...")``; ``os.environ.get`` encodes each
    name and decodes each value, several times the cost of the lookups themselves.
    The raw (encoded) values tell a change as well as decoded ones.
    """
    if _ENV_KEYS and os.environ is _ENVIRON:
        get = _ENV_DATA.get
        return tuple([get(key) for key in _ENV_KEYS])
    return tuple([os.environ.get(name) for name in _STAMP_ENV])


def _config_stamp(
    config: str | os.PathLike[str] | None, config_data: Mapping[str, Any] | None
) -> tuple[Any, ...]:
    """What decides which configuration a filesystem sees: the environment and the file's state.

    Cheap on purpose (it runs on every open): the environment as raw values, the file's
    path worked out once per (argument, environment), then one ``stat``.
    """
    env = _env_values()
    if config_data is not None:
        return ("data", env)
    try:
        path = _paths[(config, env)]
    except (KeyError, TypeError):
        from byob_core import config as config_mod

        path = str(config_mod.config_path(config))
        try:
            if len(_paths) >= 256:
                _paths.clear()
            _paths[(config, env)] = path
        except TypeError:  # an unhashable path-like: no caching
            pass
    try:
        stat = os.stat(path)
        state: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        state = None
    return ("file", path, config is not None, state, env)


def _load_byob(
    config: str | os.PathLike[str] | None, config_data: Mapping[str, Any] | None
) -> Byob:
    """The `Byob` for a configuration, loaded once while its file and environment stay the same."""
    from byob_core.api import Byob

    key = _config_stamp(config, config_data)
    if config_data is not None:
        key += (json.dumps(config_data, sort_keys=True, default=str),)
    with _byob_lock:
        found = _byob_cache.get(key)
        if found is None:
            if len(_byob_cache) >= 64:
                _byob_cache.clear()  # configurations that changed many times: start afresh
            if config_data is not None:
                found = Byob(config_from_mapping(config_data))
            else:
                found = Byob.from_env(config)
            _byob_cache[key] = found
        return found


_tokens: dict[tuple[Any, ...], str] = {}


class _CachedPerConfig(type(AsyncFileSystem)):  # type: ignore[misc]
    """fsspec's instance cache, keyed also on the configuration file and the environment.

    fsspec builds or finds a filesystem on every ``fsspec.open``; building one costs
    about a millisecond, so instances are cached, but a cached instance must not outlive
    a change of ``BYOB_CONFIG`` or of the file it names: the stamp goes into the key.
    Finding one is made cheap too: fsspec tokenizes the arguments (an md5 of their text)
    each time; here hashable arguments and the stamp map straight to fsspec's token, and
    the instance is still taken from fsspec's own cache (so ``clear_instance_cache`` and
    ``skip_instance_cache`` work as they do for any filesystem).
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        config = args[0] if args else kwargs.get("config")
        stamp = _config_stamp(config, kwargs.get("config_data"))
        fast: tuple[Any, ...] | None = (cls, os.getpid(), args, tuple(kwargs.items()), stamp)
        try:
            token = _tokens.get(fast)  # type: ignore[arg-type]
        except TypeError:  # an unhashable option (config_data is a mapping): fsspec decides
            fast = token = None
        if token is not None and not kwargs.get("skip_instance_cache"):
            found = cls._cache.get(token)
            if found is not None:
                return found
        kwargs["config_stamp"] = stamp
        made = super().__call__(*args, **kwargs)
        if not isinstance(made.storage_options, _Options):
            made.storage_options = _Options(made.storage_options)
        if fast is not None and cls.cachable and not kwargs.get("skip_instance_cache"):
            if len(_tokens) >= 256:
                _tokens.clear()
            _tokens[fast] = made._fs_token_
        return made


_SECRET_WORDS = ("secret", "password", "token", "account_key", "private_key", "sas", "signature")


def _redacted(value: Any, name: str = "") -> Any:
    """A copy of `value` fit to print: secret-named fields blanked, connection strings cut."""
    from byob_core import secrets

    if isinstance(value, Mapping):
        return {k: _redacted(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redacted(v, name) for v in value)
    if isinstance(value, str):
        if value and any(word in name.lower() for word in _SECRET_WORDS):
            return secrets.REDACTED
        return secrets.redact_connection_strings(value)
    return value


class _Options(dict):  # type: ignore[type-arg]
    """The storage options of a `ByobFileSystem`: the values it needs to rebuild itself
    (pickling for workers), with a `repr`/`str` that never shows a secret. Nested
    mappings (``config_data``) are `_Options` too, so printing any part is safe."""

    def __init__(self, data: Mapping[str, Any] = ()) -> None:  # type: ignore[assignment]
        super().__init__(
            (k, _Options(v) if isinstance(v, Mapping) and not isinstance(v, _Options) else v)
            for k, v in dict(data).items()
        )

    def __repr__(self) -> str:
        return repr(_redacted(dict(self)))

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Options, (dict(self),))


# -- where a team's paths land ----------------------------------------------------------


class _PlainPaths:
    """Stands in for a provider filesystem where only path normalisation is needed."""

    @staticmethod
    def _strip_protocol(path: str) -> str:
        return path.rstrip("/")


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


class ByobFileSystem(AsyncFileSystem, metaclass=_CachedPerConfig):  # type: ignore[misc]
    """fsspec filesystem for ``byob://<team>/<key>``.

    Storage options: ``config`` (path of a byob TOML file; default ``BYOB_CONFIG``),
    ``config_data`` (the parsed TOML as a mapping), or ``byob`` (a `Byob` object); and
    ``reader`` (the team that reads: every path of a team whose objects the visibility
    rule hides from it is refused with `PermissionError`).
    Synchronous calls go straight to the provider's synchronous methods; the bulk
    operations (copy, get, put, cat, pipe, rm) run concurrently on fsspec's event loop
    when the provider is async, as they would on s3fs itself.
    """

    protocol = (PROTOCOL,)
    root_marker = ""

    def __init__(
        self,
        config: str | os.PathLike[str] | None = None,
        *,
        config_data: Mapping[str, Any] | None = None,
        byob: Byob | None = None,
        asynchronous: bool = False,
        loop: Any = None,
        batch_size: int | None = None,
        config_stamp: Any = None,
        reader: str | None = None,
        **storage_options: Any,
    ) -> None:
        # config_stamp only keys fsspec's instance cache (see `_CachedPerConfig`).
        super().__init__(
            asynchronous=asynchronous, loop=loop, batch_size=batch_size, **storage_options
        )
        if byob is not None and (config is not None or config_data is not None):
            raise ValueError("give one of byob, config or config_data")
        if config is not None and config_data is not None:
            raise ValueError("give config (a path) or config_data (a mapping), not both")
        if reader is not None:
            check_team_name(reader)
        #: The team that reads through this filesystem, if the caller named one.
        self.reader = reader
        self.byob = byob if byob is not None else _load_byob(config, config_data)
        self._places: dict[str, _Place] = {}
        #: Per team, what signing needs of its store without a filesystem (`_sign_scope`).
        self._scopes: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._places_lock = threading.Lock()

    # -- paths --------------------------------------------------------------------------
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

    def _root_info(self, place: _Place) -> dict[str, Any]:
        return {"name": place.team, "size": 0, "type": "directory"}

    def _teams(self) -> list[dict[str, Any]]:
        names = sorted({*self.byob.config.teams, INSTANCE})
        if self.reader is not None:
            names = [n for n in names if self._readable(n)]
        return [{"name": n, "size": 0, "type": "directory"} for n in names]

    def _readable(self, team: str) -> bool:
        """Whether the visibility rule lets the reader see `team`'s objects."""
        try:
            return self.byob.config.can_read(self.reader, None if team == INSTANCE else team)
        except ConfigError:
            return False  # no store serves it

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

    # -- calling the provider -----------------------------------------------------------
    def _async_fs(self, place: _Place) -> AbstractFileSystem | None:
        """The provider filesystem to await on the running loop, or None to use a thread.

        In synchronous mode that is the provider's own instance when it runs on the same
        (fsspec) loop; in asynchronous mode an asynchronous twin built from the same
        options, one per event loop, since an async client belongs to its loop.
        """
        fs = place.fs
        if not place.is_async():
            return None
        running = asyncio.get_running_loop()
        if not self.asynchronous:
            return fs if getattr(fs, "_loop", None) is running else None
        twin = place.afs.get(running)
        if twin is None:
            options = {**fs.storage_options, "asynchronous": True, "skip_instance_cache": True}
            options.pop("loop", None)
            twin = type(fs)(*fs.storage_args, **options)
            place.afs[running] = twin
        return twin

    async def _call(self, place: _Place, name: str, *args: Any, **kwargs: Any) -> Any:
        afs = self._async_fs(place)
        if afs is not None:
            coro = getattr(afs, "_" + name, None)
            if coro is not None and inspect.iscoroutinefunction(coro):
                return await coro(*args, **kwargs)
            if self.asynchronous:
                raise NotImplementedError(f"the provider filesystem has no async {name}")
        return await asyncio.to_thread(getattr(place.fs, name), *args, **kwargs)

    def _provider_is_async(self, path: Any) -> bool:
        first = path[0] if isinstance(path, list) and path else path
        if isinstance(first, dict):
            first = next(iter(first), "")
        try:
            return self._place(self._strip_protocol(first).partition("/")[0]).is_async()
        except OSError:
            return False  # the sync path raises the proper error

    # -- listing ------------------------------------------------------------------------
    @_translated
    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        if self._strip_protocol(path) == "":
            teams = self._teams()
            return teams if detail else [t["name"] for t in teams]
        place, key, fpath = self._locate(path)
        try:
            found = place.fs.ls(fpath, detail=detail, **kwargs)
        except FileNotFoundError:
            if key:
                raise
            found = []  # a store nobody wrote to yet is an empty team
        return self._entries(place, found) if detail else self._names(place, found)

    @_translated
    async def _ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        if self._strip_protocol(path) == "":
            teams = self._teams()
            return teams if detail else [t["name"] for t in teams]
        place, key, fpath = self._locate(path)
        try:
            found = await self._call(place, "ls", fpath, detail=detail, **kwargs)
        except FileNotFoundError:
            if key:
                raise
            found = []
        return self._entries(place, found) if detail else self._names(place, found)

    @_translated
    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        if self._strip_protocol(path) == "":
            return {"name": "", "size": 0, "type": "directory"}
        place, key, fpath = self._locate(path)
        if not key:
            return self._root_info(place)
        return self._info_entry(place, path, place.fs.info(fpath, **kwargs))

    @_translated
    async def _info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        if self._strip_protocol(path) == "":
            return {"name": "", "size": 0, "type": "directory"}
        place, key, fpath = self._locate(path)
        if not key:
            return self._root_info(place)
        return self._info_entry(place, path, await self._call(place, "info", fpath, **kwargs))

    def _info_entry(self, place: _Place, path: str, info: Mapping[str, Any]) -> dict[str, Any]:
        entry = self._entry(place, info)
        if entry is None:
            raise FileNotFoundError(errno.ENOENT, "no such object", str(path))
        return entry

    @_translated
    def exists(self, path: str, **kwargs: Any) -> bool:
        place, key, fpath = self._locate(path)
        return True if not key else bool(place.fs.exists(fpath, **kwargs))

    @_translated
    async def _exists(self, path: str, **kwargs: Any) -> bool:
        place, key, fpath = self._locate(path)
        return True if not key else bool(await self._call(place, "exists", fpath, **kwargs))

    @_translated
    def isdir(self, path: str) -> bool:
        place, key, fpath = self._locate(path)
        return True if not key else bool(place.fs.isdir(fpath))

    @_translated
    async def _isdir(self, path: str) -> bool:
        place, key, fpath = self._locate(path)
        return True if not key else bool(await self._call(place, "isdir", fpath))

    @_translated
    def isfile(self, path: str) -> bool:
        place, key, fpath = self._locate(path)
        return False if not key else bool(place.fs.isfile(fpath))

    @_translated
    async def _isfile(self, path: str) -> bool:
        place, key, fpath = self._locate(path)
        return False if not key else bool(await self._call(place, "isfile", fpath))

    @_translated
    def size(self, path: str) -> int | None:
        place, key, fpath = self._locate(path)
        return 0 if not key else place.fs.size(fpath)

    @_translated
    async def _size(self, path: str) -> int | None:
        place, key, fpath = self._locate(path)
        return 0 if not key else await self._call(place, "size", fpath)

    @_translated
    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        place, _, fpath = self._locate(path)
        found = place.fs.find(fpath, maxdepth=maxdepth, withdirs=withdirs, detail=True, **kwargs)
        out = self._detail_map(place, found)
        return out if detail else sorted(out)

    @_translated
    async def _find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, **kwargs: Any
    ) -> Any:
        detail = kwargs.pop("detail", False)
        place, _, fpath = self._locate(path)
        found = await self._call(
            place, "find", fpath, maxdepth=maxdepth, withdirs=withdirs, detail=True, **kwargs
        )
        out = self._detail_map(place, found)
        return out if detail else sorted(out)

    # The generic algorithms of fsspec, run on the guarded primitives above. Spelt out
    # (not inherited) so that AsyncFileSystem does not swap them for loop-bound wrappers.
    @_translated
    def glob(self, path: str, maxdepth: int | None = None, **kwargs: Any) -> Any:
        self._check_pattern(path)
        return AbstractFileSystem.glob(self, path, maxdepth=maxdepth, **kwargs)

    @_translated
    async def _glob(self, path: str, maxdepth: int | None = None, **kwargs: Any) -> Any:
        self._check_pattern(path)
        return await AsyncFileSystem._glob(self, path, maxdepth=maxdepth, **kwargs)

    def walk(
        self,
        path: str,
        maxdepth: int | None = None,
        topdown: bool = True,
        on_error: str = "omit",
        **kwargs: Any,
    ) -> Iterator[Any]:
        self._locate(path)
        yield from AbstractFileSystem.walk(
            self, path, maxdepth=maxdepth, topdown=topdown, on_error=on_error, **kwargs
        )

    @_translated
    def du(
        self,
        path: str,
        total: bool = True,
        maxdepth: int | None = None,
        withdirs: bool = False,
        **kwargs: Any,
    ) -> Any:
        return AbstractFileSystem.du(
            self, path, total=total, maxdepth=maxdepth, withdirs=withdirs, **kwargs
        )

    # A key may hold '*', '?' or '[' (the guard allows them, S3 and GCS store them). fsspec
    # globs such a path in every bulk operation (cat, get, copy, rm of a list), so the object
    # 'a[1].bin' could not be read back, and rm('a[1].bin') would delete 'a1.bin'. A path
    # that names an existing object or folder literally is taken literally; only a path
    # that names nothing is a pattern.
    @staticmethod
    def _as_list(path: Any) -> list[str]:
        return [path] if isinstance(path, str) else [os.fspath(p) for p in path]

    @_translated
    def expand_path(
        self, path: Any, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any
    ) -> list[str]:
        self._check_pattern(path)
        literal: list[str] = []
        rest: list[str] = []
        for p in self._as_list(path):
            name = self._strip_protocol(p)
            (literal if _has_magic(name) and self.exists(name) else rest).append(p)
        if not literal:
            return AbstractFileSystem.expand_path(  # type: ignore[no-any-return]
                self, path, recursive=recursive, maxdepth=maxdepth, **kwargs
            )
        found = {self._strip_protocol(p) for p in literal}
        if recursive:
            for name in list(found):
                if self.isdir(name):
                    found.update(self.find(name, withdirs=True, maxdepth=maxdepth))
        if rest:
            found.update(
                AbstractFileSystem.expand_path(
                    self, rest, recursive=recursive, maxdepth=maxdepth, **kwargs
                )
            )
        return sorted(found)

    @_translated
    async def _expand_path(
        self, path: Any, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any
    ) -> list[str]:
        self._check_pattern(path)
        literal: list[str] = []
        rest: list[str] = []
        for p in self._as_list(path):
            name = self._strip_protocol(p)
            (literal if _has_magic(name) and await self._exists(name) else rest).append(p)
        if not literal:
            return await AsyncFileSystem._expand_path(  # type: ignore[no-any-return]
                self, path, recursive=recursive, maxdepth=maxdepth, **kwargs
            )
        found = {self._strip_protocol(p) for p in literal}
        if recursive:
            for name in list(found):
                if await self._isdir(name):
                    found.update(await self._find(name, withdirs=True, maxdepth=maxdepth))
        if rest:
            found.update(
                await AsyncFileSystem._expand_path(
                    self, rest, recursive=recursive, maxdepth=maxdepth, **kwargs
                )
            )
        return sorted(found)

    # -- reading and writing ------------------------------------------------------------
    @_translated
    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        place, _, fpath = self._file(path)
        data: bytes = place.fs.cat_file(fpath, start=start, end=end, **kwargs)
        return data

    @_translated
    async def _cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        place, _, fpath = self._file(path)
        data: bytes = await self._call(place, "cat_file", fpath, start=start, end=end, **kwargs)
        return data

    @_translated
    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        place, _, fpath = self._file(path)
        place.fs.pipe_file(fpath, value, mode=mode, **kwargs)

    @_translated
    async def _pipe_file(
        self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        place, _, fpath = self._file(path)
        await self._call(place, "pipe_file", fpath, value, mode=mode, **kwargs)

    @_translated
    def put_file(
        self, lpath: str, rpath: str, callback: Any = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        place, key, fpath = self._locate(rpath)
        if not key:
            if os.path.isdir(lpath):
                return  # the team root always exists
            raise IsADirectoryError(errno.EISDIR, "the root of a team is a directory", str(rpath))
        place.fs.put_file(lpath, fpath, callback=callback, **kwargs)

    @_translated
    async def _put_file(
        self, lpath: str, rpath: str, callback: Any = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        place, key, fpath = self._locate(rpath)
        if not key:
            if os.path.isdir(lpath):
                return
            raise IsADirectoryError(errno.EISDIR, "the root of a team is a directory", str(rpath))
        await self._call(place, "put_file", lpath, fpath, callback=callback, **kwargs)

    @_translated
    def get_file(
        self, rpath: str, lpath: str, callback: Any = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        place, key, fpath = self._locate(rpath)
        if not key:
            os.makedirs(lpath, exist_ok=True)
            return
        place.fs.get_file(fpath, lpath, callback=callback, **kwargs)

    @_translated
    async def _get_file(
        self, rpath: str, lpath: str, callback: Any = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        place, key, fpath = self._locate(rpath)
        if not key:
            os.makedirs(lpath, exist_ok=True)
            return
        await self._call(place, "get_file", fpath, lpath, callback=callback, **kwargs)

    @_translated
    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        src, _, fsrc = self._file(path1)
        dst, key2, fdst = self._locate(path2)
        if not key2:
            raise IsADirectoryError(errno.EISDIR, "the root of a team is a directory", str(path2))
        if src.fs is dst.fs:
            src.fs.cp_file(fsrc, fdst, **kwargs)
            return
        # Another store: stream through this process (no provider copies across stores).
        with src.fs.open(fsrc, "rb") as reader, dst.fs.open(fdst, "wb") as writer:
            shutil.copyfileobj(reader, writer, 8 * 1024 * 1024)

    @_translated
    async def _cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        src, _, fsrc = self._file(path1)
        dst, key2, fdst = self._locate(path2)
        if not key2:
            raise IsADirectoryError(errno.EISDIR, "the root of a team is a directory", str(path2))
        if src.fs is dst.fs:
            await self._call(src, "cp_file", fsrc, fdst, **kwargs)
            return
        data = await self._call(src, "cat_file", fsrc)
        await self._call(dst, "pipe_file", fdst, data)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        place, _, fpath = self._file(path)
        try:
            # Exclusive creation fails on open, as on a local disk; object stores could only
            # tell at commit (S3's If-None-Match), which fsspec users do not expect.
            if "x" in mode and place.fs.exists(fpath):
                raise FileExistsError(errno.EEXIST, "the object exists", str(path))
            raw = place.fs._open(
                fpath,
                mode=mode,
                block_size=block_size,
                autocommit=autocommit,
                cache_options=cache_options,
                **kwargs,
            )
        except OSError as exc:
            raise self._translate(exc, path) from None
        # The provider's file names the bucket path and the provider filesystem: hand out
        # one whose path and fs are byob's (fsspec's caches key on them).
        return ByobFile(self, self._strip_protocol(path), place, raw)

    async def open_async(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        place, _, fpath = self._file(path)
        afs = self._async_fs(place)
        if afs is None:
            raise NotImplementedError(f"{place.store.provider!r} stores have no async file objects")
        try:
            raw = await afs.open_async(fpath, mode, **kwargs)
        except OSError as exc:
            raise self._translate(exc, path) from None
        return ByobAsyncFile(self, self._strip_protocol(path), raw)

    # -- deleting and folders -----------------------------------------------------------
    @_translated
    def rm_file(self, path: str) -> None:
        place, _, fpath = self._file(path)
        place.fs.rm_file(fpath)

    @_translated
    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        place, _, fpath = self._file(path)
        await self._call(place, "rm_file", fpath)

    def _rm_groups(self, paths: list[str]) -> list[tuple[_Place, list[str]]]:
        """Provider paths to delete per store, deepest first; team roots are never deleted."""
        groups: dict[int, tuple[_Place, list[str]]] = {}
        for path in paths:
            place, key, fpath = self._locate(path)
            if key:
                groups.setdefault(id(place.fs), (place, []))[1].append(fpath)
        return [(place, sorted(set(fpaths), reverse=True)) for place, fpaths in groups.values()]

    @_translated
    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        if isinstance(path, str) and not _has_magic(path):
            place, key, fpath = self._locate(path)
            if key:
                # Below the team root a recursive delete cannot reach .byob/ nor another team.
                place.fs.rm(fpath, recursive=recursive, maxdepth=maxdepth)
                return
        if self._provider_is_async(path):
            sync(self.loop, self._rm, path, recursive=recursive, maxdepth=maxdepth)
            return
        expanded = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        for place, fpaths in self._rm_groups(expanded):
            plain = [f for f in fpaths if not _has_magic(f)]
            if plain:
                place.fs.rm(plain, recursive=recursive and maxdepth is None)
            # The provider would glob these again: delete each one by its exact name.
            for fpath in (f for f in fpaths if _has_magic(f)):
                if place.fs.isdir(fpath):
                    with contextlib.suppress(OSError):
                        place.fs.rmdir(fpath)
                else:
                    place.fs.rm_file(fpath)

    @_translated
    async def _rm(
        self,
        path: Any,
        recursive: bool = False,
        batch_size: int | None = None,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(path, str) and not _has_magic(path):
            place, key, fpath = self._locate(path)
            if key:
                await self._call(place, "rm", fpath, recursive=recursive, maxdepth=maxdepth)
                return
        expanded = await self._expand_path(path, recursive=recursive, maxdepth=maxdepth)
        for place, fpaths in self._rm_groups(expanded):
            plain = [f for f in fpaths if not _has_magic(f)]
            if plain:
                await self._call(place, "rm", plain, recursive=recursive and maxdepth is None)
            # The provider would glob these again: delete each one by its exact name.
            for fpath in (f for f in fpaths if _has_magic(f)):
                if await self._call(place, "isdir", fpath):
                    with contextlib.suppress(OSError):
                        await self._call(place, "rmdir", fpath)
                else:
                    await self._call(place, "rm_file", fpath)

    @_translated
    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        place, key, fpath = self._locate(path)
        if key:  # the team root exists as long as its store does: nothing to make
            place.fs.mkdir(fpath, create_parents=create_parents, **kwargs)

    @_translated
    async def _mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        place, key, fpath = self._locate(path)
        if key:
            await self._call(place, "mkdir", fpath, create_parents=create_parents, **kwargs)

    @_translated
    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        place, key, fpath = self._locate(path)
        if key:
            place.fs.makedirs(fpath, exist_ok=exist_ok)
        elif not exist_ok:
            raise FileExistsError(errno.EEXIST, "the root of a team always exists", str(path))

    @_translated
    async def _makedirs(self, path: str, exist_ok: bool = False) -> None:
        place, key, fpath = self._locate(path)
        if key:
            await self._call(place, "makedirs", fpath, exist_ok=exist_ok)
        elif not exist_ok:
            raise FileExistsError(errno.EEXIST, "the root of a team always exists", str(path))

    @_translated
    def rmdir(self, path: str) -> None:
        place, key, fpath = self._locate(path)
        if not key:
            raise _refused(path, "the root of a team cannot be removed")
        place.fs.rmdir(fpath)

    # -- bulk operations: concurrent on the loop for async providers --------------------
    def _bulk(self, probe: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run bulk operation `name` concurrently on the loop when the provider of `probe`
        is async (fsspec's ``_<name>``), else through fsspec's sequential version."""
        if self._provider_is_async(probe):
            return sync(self.loop, getattr(self, "_" + name), *args, **kwargs)
        return getattr(AbstractFileSystem, name)(self, *args, **kwargs)

    def _literal_source(self, path1: Any, path2: Any) -> tuple[Any, Any]:
        """A source that names one existing file literally, glob characters and all, is
        that file: fsspec would otherwise take it for a pattern and `path2` for a folder."""
        if (
            isinstance(path1, str)
            and isinstance(path2, str)
            and _has_magic(self._strip_protocol(path1))
            and self.isfile(path1)
        ):
            return [path1], [path2]
        return path1, path2

    @_translated
    def copy(
        self,
        path1: Any,
        path2: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        on_error: str | None = None,
        **kwargs: Any,
    ) -> Any:
        path1, path2 = self._literal_source(path1, path2)
        return self._bulk(
            path1,
            "copy",
            path1,
            path2,
            recursive=recursive,
            maxdepth=maxdepth,
            on_error=on_error,
            **kwargs,
        )

    @_translated
    def get(
        self,
        rpath: Any,
        lpath: Any,
        recursive: bool = False,
        callback: Any = DEFAULT_CALLBACK,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> Any:
        rpath, lpath = self._literal_source(rpath, lpath)
        return self._bulk(
            rpath,
            "get",
            rpath,
            lpath,
            recursive=recursive,
            callback=callback,
            maxdepth=maxdepth,
            **kwargs,
        )

    @_translated
    def put(
        self,
        lpath: Any,
        rpath: Any,
        recursive: bool = False,
        callback: Any = DEFAULT_CALLBACK,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> Any:
        return self._bulk(
            rpath,
            "put",
            lpath,
            rpath,
            recursive=recursive,
            callback=callback,
            maxdepth=maxdepth,
            **kwargs,
        )

    @_translated
    def cat(
        self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any
    ) -> Any:
        return self._bulk(path, "cat", path, recursive=recursive, on_error=on_error, **kwargs)

    @_translated
    def pipe(self, path: Any, value: Any = None, **kwargs: Any) -> Any:
        return self._bulk(path, "pipe", path, value, **kwargs)

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget the provider's cached listings (s3fs keeps some) for `path`, or for everything."""
        if path is None or self._strip_protocol(path) == "":
            for place in list(self._places.values()):
                place.fs.invalidate_cache()
            return
        place, _, fpath = self._locate(path)
        place.fs.invalidate_cache(fpath)

    # -- metadata and signing -----------------------------------------------------------
    @_translated
    def checksum(self, path: str) -> int:
        place, _, fpath = self._file(path)
        return int(place.fs.checksum(fpath))

    @_translated
    def ukey(self, path: str) -> str:
        place, _, fpath = self._file(path)
        return str(place.fs.ukey(fpath))

    @_translated
    def modified(self, path: str) -> Any:
        place, _, fpath = self._file(path)
        return place.fs.modified(fpath)

    @_translated
    def created(self, path: str) -> Any:
        place, _, fpath = self._file(path)
        return place.fs.created(fpath)

    @_translated
    def sign(
        self,
        path: str,
        expiration: Any = None,
        method: str = "GET",
        user: str | None = None,
        **kwargs: Any,
    ) -> str:
        """A pre-signed URL for `path`, made by the store's provider plugin.

        `expiration` is in seconds (or a `timedelta`); the default is the CLI's (1 hour
        for reads, 24 hours for PUT) and the provider's maximum applies. A ``file``
        store cannot sign (`UnsupportedError`, a `NotImplementedError`).
        """
        # No provider filesystem is built to sign (GCS with HMAC keys has none that works,
        # and none is needed): the same guard as `_locate`, on the store alone.
        team, key = self._sign_target(path)
        signed = self.byob.sign(
            [key],
            team=team,
            method=method,
            expires=expiration,
            user=user,
            reader=self.reader,
            **kwargs,
        )
        return signed[0].url

    def _sign_target(self, path: Any) -> tuple[str, str]:
        """(team, key) of a byob path, checked as `_locate` checks it, with no filesystem."""
        text = self._strip_protocol(path)
        if text.startswith("/"):
            raise _refused(path, "byob:// paths are relative to a team: byob://<team>/<key>")
        team, _, key = text.partition("/")
        if not key:
            raise IsADirectoryError(errno.EISDIR, "the root of a team is a directory", str(path))
        prefix, hidden = self._sign_scope(team)
        try:
            keys.full_key(prefix, key)
        except UnsafeKeyError as exc:
            raise _refused(path, str(exc)) from None
        if hidden and any(key == h or key.startswith(h + "/") for h in hidden):
            raise _refused(path, f"key {key!r} belongs to another configured store")
        return team, key

    def _sign_scope(self, team: str) -> tuple[str, tuple[str, ...]]:
        """(key prefix, hidden keys) of a team's store, from its place or worked out once."""
        place = self._places.get(team)
        if place is not None:
            return place.key_prefix, place.hidden
        scope = self._scopes.get(team)
        if scope is None:
            if team in ("", ".", ".."):
                raise _refused(team, "byob:// paths start with a team name: byob://<team>/<key>")
            try:
                keys.check(team)
            except UnsafeKeyError as exc:
                raise _refused(team, f"team name refused: {exc}") from None
            store = self.byob.resolve(team, reader=self.reader).store
            scope = (store.prefix, self._nested(store, _PlainPaths()))
            self._scopes[team] = scope
        return scope

    def __repr__(self) -> str:
        source = self.byob.config.source
        return f"ByobFileSystem(config={str(source) if source else '(default)'!r})"

    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        """fsspec's JSON form; with ``include_password=False`` no secret is in it.

        The configuration stamp (which keys the instance cache) is left out: it is
        recomputed when the filesystem is rebuilt.
        """
        from fsspec.json import FilesystemJSONEncoder

        encoder = FilesystemJSONEncoder()
        options = {k: v for k, v in self.storage_options.items() if k != "config_stamp"}
        cls = type(self)
        data = {
            "cls": f"{cls.__module__}:{cls.__name__}",
            "protocol": PROTOCOL,
            "args": encoder.make_serializable(self.storage_args),
            **encoder.make_serializable(options),
        }
        return data if include_password else _redacted(data)


_byob_path: type | None = None


def _byob_path_class() -> type:
    """Build `ByobPath` on first use, so that fsspec users never import universal_pathlib."""
    global _byob_path
    if _byob_path is not None:
        return _byob_path
    import fsspec
    from upath.implementations.cloud import CloudPath

    # The path flavour comes from the fsspec class registered for the protocol; make
    # sure it is this one even before fsspec was asked for "byob".
    if PROTOCOL not in fsspec.registry:
        fsspec.register_implementation(PROTOCOL, ByobFileSystem)
    # The team is the anchor of a byob path as the bucket is of an s3 one (parts, parent,
    # drive); universal_pathlib keeps that setting per protocol.
    from upath._flavour import WrappedFileSystemFlavour

    anchored = WrappedFileSystemFlavour.protocol_config["netloc_is_anchor"]
    if PROTOCOL not in anchored:
        anchored.add(PROTOCOL)
        WrappedFileSystemFlavour.from_protocol.cache_clear()

    class ByobPath(CloudPath):
        """`UPath` for ``byob://<team>/<key>``: the team plays the bucket."""

        __slots__ = ()

    ByobPath.__module__ = __name__
    ByobPath.__qualname__ = "ByobPath"
    _byob_path = ByobPath
    return ByobPath


def __getattr__(name: str) -> Any:
    if name == "ByobPath":
        return _byob_path_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
