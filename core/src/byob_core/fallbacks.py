"""What the core does on a provider's fsspec filesystem when the provider leaves a hook out.

- `list_entries`: `byob_list` without the hook: a sorted walk, folder by folder, so a
  listing streams (objects only; a filesystem has no versions and no multipart uploads).
- `delete_entries`: `byob_garbage_collect` without the hook: deletes of exactly the named
  keys, one ``rm`` call per batch, per-key errors reported.
- `object_store_view`: a hierarchical filesystem (``ProviderSpec(hierarchical=True)``:
  FTP, SFTP) made to behave as the core expects of an object store: a write creates the
  parent folders it needs, and ``ls`` names entries by their full paths.

See the hook reference (``docs/hooks.md``, "The filesystem contract").
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from byob_core.objects import DeleteBatch, DeleteResult, Entry, Kind, ListRequest

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from byob_core.stores import Store

# Where fsspec backends put the last-modified time, in the order they are tried.
_TIME_FIELDS = (
    "LastModified",
    "last_modified",
    "mtime",
    "modify",
    "modified",
    "updated",
    "created",
)


def modified_of(info: dict[str, Any]) -> dt.datetime | None:
    """The last-modified time in an fsspec ``info`` dict, in UTC; None when it names none.

    >>> modified_of({"modify": "20260131120000"})
    datetime.datetime(2026, 1, 31, 12, 0, tzinfo=datetime.timezone.utc)
    """
    for field in _TIME_FIELDS:
        value = info.get(field)
        if value is None or value == "":
            continue
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        if isinstance(value, int | float):
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        text = str(value)
        for fmt in ("%Y%m%d%H%M%S", "%Y%m%d%H%M%S.%f"):  # FTP MLSD "modify"
            try:
                return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC)
            except ValueError:
                pass
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def _base(name: str) -> str:
    return posixpath.basename(name.rstrip("/"))


def list_entries(fs: AbstractFileSystem, store: Store, request: ListRequest) -> Iterator[Entry]:
    """Objects under ``request.prefix`` in ascending key order, one folder listed at a time.

    An entry whose time the filesystem does not report is dated now, so garbage
    collection treats it as young and keeps it.
    """
    if request.kind is not Kind.OBJECTS:
        return iter(())
    folder, _, _ = request.prefix.rpartition("/")
    base = folder + "/" if folder else ""
    return (
        entry
        for entry in _walk(fs, store, base, request.start_after)
        if entry.key.startswith(request.prefix)
    )


def _walk(
    fs: AbstractFileSystem, store: Store, relative: str, start_after: str | None
) -> Iterator[Entry]:
    path = store.fs_path(relative.rstrip("/"))
    try:
        infos = fs.ls(path, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return
    children: list[tuple[str, dict[str, Any]]] = []
    for info in infos:
        name = _base(str(info.get("name", "")))
        if not name or name in (".", ".."):
            continue
        is_dir = info.get("type") == "directory"
        children.append((name + "/" if is_dir else name, info))
    children.sort(key=lambda pair: pair[0])
    for sort_name, info in children:
        key = relative + sort_name
        if sort_name.endswith("/"):
            # Skip a folder whose every key sorts before start_after.
            if start_after is not None and start_after > key and not start_after.startswith(key):
                continue
            yield from _walk(fs, store, key, start_after)
            continue
        if start_after is not None and key <= start_after:
            continue
        yield Entry(
            key=key,
            size=int(info.get("size") or 0),
            modified=modified_of(info) or dt.datetime.now(dt.UTC),
            etag=info.get("ETag") or info.get("etag"),
        )


def delete_entries(fs: AbstractFileSystem, store: Store, batch: DeleteBatch) -> DeleteResult:
    """Delete exactly the batch's keys: one ``rm`` of their paths, then key by key on error."""
    if batch.kind is not Kind.OBJECTS:
        return DeleteResult(
            errors=[
                (e.key, f"{store.provider} stores have no {batch.kind.value} to delete")
                for e in batch.entries
            ]
        )
    entries = list(batch.entries)
    if not entries:
        return DeleteResult()
    try:
        fs.rm([store.fs_path(e.key) for e in entries])
    except Exception:  # one failed: find out which, key by key
        deleted: list[Entry] = []
        errors: list[tuple[str, str]] = []
        for entry in entries:
            try:
                fs.rm_file(store.fs_path(entry.key))
            except FileNotFoundError:
                deleted.append(entry)  # already gone: the end state holds
            except Exception as exc:
                errors.append((entry.key, f"{type(exc).__name__}: {exc}"))
            else:
                deleted.append(entry)
        return DeleteResult(deleted=deleted, errors=errors)
    finally:
        fs.invalidate_cache()
    return DeleteResult(deleted=entries)


class ObjectStoreView:
    """A hierarchical filesystem seen as an object store (every other call passes through).

    - ``pipe_file``, ``put_file`` and ``open`` for writing create the parent folders first;
    - ``ls`` names every entry by its full path, with ``detail=False`` and ``detail=True``,
      and never serves a listing from before the last write (the directory cache is
      invalidated on writes and deletes).
    """

    def __init__(self, fs: AbstractFileSystem, root: str = "") -> None:
        self.fs = fs
        #: The bucket's folder: folders are created below it, never it (provisioning does).
        self.root = fs._strip_protocol(root).rstrip("/") if root else ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fs, name)

    def __repr__(self) -> str:
        return f"ObjectStoreView({type(self.fs).__name__})"

    def _parents(self, path: str) -> None:
        parent = posixpath.dirname(self.fs._strip_protocol(path).rstrip("/"))
        if not parent or parent in ("/", ".") or self.fs.isdir(parent):
            return
        if self.root and not self.fs.isdir(self.root):
            raise FileNotFoundError(
                f"the bucket folder {self.root} does not exist (provision the store first)"
            )
        self.fs.makedirs(parent, exist_ok=True)

    def pipe_file(self, path: str, value: bytes, **kwargs: Any) -> None:
        self._parents(path)
        self.fs.pipe_file(path, value, **kwargs)
        self.fs.invalidate_cache(posixpath.dirname(path))

    def put_file(self, lpath: str, rpath: str, **kwargs: Any) -> None:
        self._parents(rpath)
        self.fs.put_file(lpath, rpath, **kwargs)
        self.fs.invalidate_cache(posixpath.dirname(rpath))

    def open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if any(c in mode for c in "wax"):
            self._parents(path)
            self.fs.invalidate_cache(posixpath.dirname(path))
        return self.fs.open(path, mode, **kwargs)

    def rm_file(self, path: str) -> None:
        self.fs.rm_file(path)
        self.fs.invalidate_cache(posixpath.dirname(path))

    def rm(self, path: Any, *args: Any, **kwargs: Any) -> None:
        self.fs.rm(path, *args, **kwargs)
        self.fs.invalidate_cache()

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
        root = self.fs._strip_protocol(path).rstrip("/")
        self.fs.invalidate_cache(root)
        found = self.fs.ls(path, detail=True, **kwargs)
        out = []
        for info in found:
            name = str(info.get("name", ""))
            if not name.startswith(root + "/") and name != root:
                name = f"{root}/{_base(name)}" if root else _base(name)
            out.append({**info, "name": name})
        return out if detail else sorted(i["name"] for i in out)


def object_store_view(fs: AbstractFileSystem, root: str = "") -> AbstractFileSystem:
    """`fs` wrapped in an `ObjectStoreView` (typed as the filesystem it stands for); `root`
    is the bucket's folder."""
    return ObjectStoreView(fs, root)  # type: ignore[return-value,unused-ignore]
