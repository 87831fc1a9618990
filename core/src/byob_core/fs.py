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
import errno
import inspect
import json
import os
import shutil
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fsspec.asyn import AsyncFileSystem
from fsspec.callbacks import DEFAULT_CALLBACK
from fsspec.spec import AbstractFileSystem

from byob_core import keys
from byob_core.config import INSTANCE, check_team_name
from byob_core.config import from_mapping as config_from_mapping
from byob_core.errors import ConfigError, UnsafeKeyError
from byob_core.files import ByobAsyncFile, ByobFile
from byob_core.fsbulk import _BulkMixin
from byob_core.fspaths import _MAGIC as _MAGIC
from byob_core.fspaths import _OS_ERRORS as _OS_ERRORS
from byob_core.fspaths import _has_magic as _has_magic
from byob_core.fspaths import _PathsMixin as _PathsMixin
from byob_core.fspaths import _Place as _Place
from byob_core.fspaths import _refused as _refused
from byob_core.fspaths import _translated as _translated

if TYPE_CHECKING:
    from byob_core.api import Byob

PROTOCOL = "byob"
#: Environment variables that decide which configuration `Byob.from_env` loads.
_CONFIG_ENV = (
    "BYOB_CONFIG",
    "BYOB_DATA_DIR",
    "XDG_DATA_HOME",
    "GORILLA_SUPPORTED_FILE_STORES",
    "BYOB_DISABLE_PLUGINS",
    "AWS_REGION",
)


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


class ByobFileSystem(_PathsMixin, _BulkMixin, AsyncFileSystem, metaclass=_CachedPerConfig):  # type: ignore[misc]
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

    # -- teams (paths and their translation: `byob_core.fspaths`) -----------------------
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
