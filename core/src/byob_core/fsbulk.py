"""Bulk operations of the ``byob://`` filesystem (`byob_core.fs.ByobFileSystem`).

cat/put/get/copy/rm of many paths, concurrent on the loop for async providers, and
literal paths with glob characters in them.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from fsspec.asyn import AsyncFileSystem, sync
from fsspec.callbacks import DEFAULT_CALLBACK
from fsspec.spec import AbstractFileSystem

from byob_core.fspaths import _has_magic, _Place, _translated

if TYPE_CHECKING:
    from fsspec.asyn import AsyncFileSystem as _Base
else:
    _Base = object


class _BulkMixin(_Base):  # type: ignore[misc]
    """`ByobFileSystem`'s operations on many paths (and on literal paths with '*?[')."""

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
