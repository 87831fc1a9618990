"""The file objects of ``byob://``: the provider's file behind byob's fence.

`ByobFileSystem.open` returns a `ByobFile`, whose `path` is the byob path
(``omega/runs/a.bin``) and whose `fs` is the `ByobFileSystem`, never the bucket path
nor the provider's filesystem (through which ``f.fs.ls("<bucket>")`` would list every
team). Reading, writing, seeking, transactions and fsspec's caches (``blockcache::``,
``simplecache::``, ``filecache::``) go to the provider's file object, with errors
translated to byob paths. Provider attributes that name the bucket (``bucket``,
``key``, ``container_name``, the raw ``details``) are not reachable.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from byob_core.fs import ByobFileSystem, _Place

#: Provider file attributes readable through a `ByobFile` (none names the bucket).
_FORWARD_GET = frozenset(
    {
        "autocommit",
        "blocksize",
        "buffer",
        "cache",
        "forced",
        "loc",
        "mode",
        "offset",
        "size",
        "version_id",
    }
)
#: Provider file attributes a caller may set (fsspec's caching filesystem sets `cache`).
_FORWARD_SET = frozenset({"autocommit", "cache", "loc"})
_OWN = frozenset({"_f", "_place", "fs", "path"})


class ByobFile(io.IOBase):
    """A file opened through ``byob://``: the byob `path` and `fs`, the provider's bytes."""

    fs: ByobFileSystem
    path: str
    _place: _Place
    _f: Any

    def __init__(self, fs: ByobFileSystem, path: str, place: _Place, raw: Any) -> None:
        object.__setattr__(self, "fs", fs)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "_place", place)
        object.__setattr__(self, "_f", raw)

    # -- attribute routing ----------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # Only reached for names this class does not define.
        if name in _FORWARD_GET:
            return getattr(self._f, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FORWARD_SET:
            setattr(self._f, name, value)
        elif name in _OWN:
            raise AttributeError(f"{name!r} of a byob file cannot be changed")
        else:
            # Anything else lives on this object: fsspec's caching filesystem replaces
            # `close` with its own, which must run when this file is closed.
            object.__setattr__(self, name, value)

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self._f, name)(*args)
        except OSError as exc:
            raise self.fs._translate(exc, self.path) from None

    # -- what fsspec's caches and readers use -----------------------------------------------
    def _fetch_range(self, start: int, end: int) -> bytes:
        data: bytes = self._call("_fetch_range", start, end)
        return data

    @property
    def details(self) -> dict[str, Any]:
        """The object's `info`, with byob names."""
        return self.info()

    def info(self) -> dict[str, Any]:
        try:
            raw = self._f.details
        except AttributeError:
            raw = None
        if isinstance(raw, dict) and raw.get("name"):
            entry = self.fs._entry(self._place, raw)
            if entry is not None:
                return entry
        return self.fs.info(self.path)

    # -- io ---------------------------------------------------------------------------------
    def read(self, length: int = -1) -> bytes:
        data: bytes = self._call("read", length)
        return data

    def readinto(self, buffer: Any) -> int:
        count: int = self._call("readinto", buffer)
        return count

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            line: bytes = self._call("readline")
        else:
            line = self._call("readline", size)
        return line

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = self._call("readlines") if hint < 0 else self._call("readlines", hint)
        return lines

    def readuntil(self, char: bytes = b"\n", blocks: int | None = None) -> bytes:
        if blocks is None:
            data: bytes = self._call("readuntil", char)
        else:
            data = self._call("readuntil", char, blocks)
        return data

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def write(self, data: Any) -> int:
        written: int = self._call("write", data)
        return written

    def seek(self, loc: int, whence: int = 0) -> int:
        position: int = self._call("seek", loc, whence)
        return position

    def tell(self) -> int:
        position: int = self._call("tell")
        return position

    def flush(self, force: bool = False) -> None:
        if force:
            self._call("flush", force)
        else:
            self._call("flush")

    def readable(self) -> bool:
        return bool(self._f.readable())

    def writable(self) -> bool:
        return bool(self._f.writable())

    def seekable(self) -> bool:
        return bool(self._f.seekable())

    def fileno(self) -> int:
        number: int = self._call("fileno")
        return number

    def isatty(self) -> bool:
        return False

    def commit(self) -> None:
        """Make a file written in a transaction (``autocommit=False``) visible."""
        self._call("commit")

    def discard(self) -> None:
        """Throw away a file written in a transaction."""
        self._call("discard")

    def close(self) -> None:
        self._call("close")

    @property
    def closed(self) -> bool:
        return bool(self._f.closed)

    @closed.setter
    def closed(self, value: bool) -> None:
        # fsspec's caching filesystem marks the file closed after its own close.
        # A provider file whose `closed` follows its handle (local files) takes no value.
        with contextlib.suppress(AttributeError):
            self._f.closed = value

    def __enter__(self) -> ByobFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> Any:
        if "r" not in str(self._f.mode):
            raise ValueError("only files opened for reading can be pickled")
        return _reopen, (self.fs, self.path, self._f.mode, self.tell())

    def __repr__(self) -> str:
        return f"<ByobFile byob://{self.path} mode={getattr(self._f, 'mode', '?')!r}>"


def _reopen(fs: ByobFileSystem, path: str, mode: str, loc: int) -> ByobFile:
    handle = fs.open(path, mode)
    handle.seek(loc)
    return handle  # type: ignore[no-any-return]


class ByobAsyncFile:
    """The async file of ``byob://`` (`ByobFileSystem.open_async`): the same fence."""

    def __init__(self, fs: ByobFileSystem, path: str, raw: Any) -> None:
        self.fs = fs
        self.path = path
        self._f = raw

    def __getattr__(self, name: str) -> Any:
        if name in _FORWARD_GET or name == "closed":
            return getattr(self._f, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    async def _await(self, name: str, *args: Any) -> Any:
        try:
            return await getattr(self._f, name)(*args)
        except OSError as exc:
            raise self.fs._translate(exc, self.path) from None

    async def read(self, length: int = -1) -> bytes:
        data: bytes = await self._await("read", length)
        return data

    async def write(self, data: bytes) -> int:
        written: int = await self._await("write", data)
        return written

    async def flush(self, force: bool = False) -> None:
        await self._await("flush", force)

    async def close(self) -> None:
        await self._await("close")

    async def __aenter__(self) -> ByobAsyncFile:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<ByobAsyncFile byob://{self.path} mode={getattr(self._f, 'mode', '?')!r}>"
