"""The built-in ``file`` provider: a local directory plays the bucket.

It is the embedded default store and the reference a plugin author reads first: every
hook a provider may implement is here, each as small as it can be. It cannot sign URLs
(nothing could serve them), so it declares ``can_sign=False`` and the core refuses
`sign` on a file store with a clear error.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from byob_core import hookimpl
from byob_core.findings import Finding
from byob_core.objects import DeleteBatch, DeleteResult, Entry, Kind, ListRequest
from byob_core.plans import Action, Change, Plan
from byob_core.provider import ProviderSpec, ProvisionContext, ValidateContext
from byob_core.stores import Store

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

NAME = "file"


@hookimpl
def byob_providers() -> Sequence[ProviderSpec]:
    return [
        ProviderSpec(
            name=NAME,
            schemes=("file",),
            family="other",
            description="a local directory as a bucket (the embedded default)",
            can_sign=False,
            max_expiry=None,
            gc_batch_size=1000,
        )
    ]


@hookimpl
def byob_filesystem(store: Store) -> AbstractFileSystem:
    # Imported here, as every provider should: discovery must stay cheap.
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem(auto_mkdir=True)


def _root(store: Store) -> str:
    return store.bucket.rstrip("/") or "/"


@hookimpl
def byob_provision(store: Store, context: ProvisionContext) -> Plan:
    root = _root(store)
    folders = [("directory", root, "the directory that plays the bucket")]
    if store.subpath:
        folders.append(("subpath-folder", os.path.join(root, store.subpath), "the sub-path folder"))
    changes = []
    for name, path, what in folders:
        exists = os.path.isdir(path)
        action = Action.NONE if exists else Action.CREATE
        applied = False
        if context.apply and not exists:
            os.makedirs(path, mode=0o700, exist_ok=True)
            applied = True
        changes.append(
            Change(
                name=name,
                action=action,
                summary=f"{what} {path} " + ("exists" if exists else "will be created (mode 0700)"),
                current={"exists": exists},
                desired={"exists": True},
                applied=applied,
            )
        )
    return Plan(store=store, changes=changes, applied=context.apply)


@hookimpl
def byob_validate(store: Store, context: ValidateContext) -> list[Finding]:
    root = _root(store)
    if not os.path.isdir(root):
        return [
            Finding.failed(
                "file.directory",
                f"directory {root} does not exist",
                hint="run `python -m byob_core provision` to create it",
            )
        ]
    findings = [Finding.passed("file.directory", f"directory {root} exists")]
    if context.read_only:
        findings.append(Finding.skipped("file.writable", "read-only validation: not checked"))
    elif os.access(root, os.W_OK | os.X_OK):
        findings.append(Finding.passed("file.writable", f"{root} is writable"))
    else:
        findings.append(
            Finding.failed("file.writable", f"{root} is not writable", hint="fix its owner or mode")
        )
    mode = os.stat(root).st_mode
    if mode & stat.S_IWOTH:
        findings.append(
            Finding.warned(
                "file.permissions",
                f"{root} is writable by every user (mode {stat.filemode(mode)})",
                hint=f"chmod o-w {root}",
            )
        )
    else:
        findings.append(Finding.passed("file.permissions", f"mode {stat.filemode(mode)}"))
    return findings


def _walk(
    directory: str, relative: str, start_after: str | None, prefix: str = ""
) -> Iterator[Entry]:
    """Yield the files under `directory` in ascending key order, lazily.

    Folders that cannot hold a key starting with `prefix` are not entered; a file that
    vanishes while it is listed (another process deleting it) is skipped.
    """
    try:
        with os.scandir(directory) as scan:
            entries = [
                (e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e) for e in scan
            ]
    except FileNotFoundError:
        return
    entries.sort(key=lambda pair: pair[0])
    for sort_name, entry in entries:
        key = relative + sort_name
        if sort_name.endswith("/"):
            # Skip a folder whose every key sorts before start_after.
            if start_after is not None and start_after > key and not start_after.startswith(key):
                continue
            if not (key.startswith(prefix) or prefix.startswith(key)):
                continue
            yield from _walk(entry.path, key, start_after, prefix)
        elif entry.is_file(follow_symlinks=False):
            if start_after is not None and key <= start_after:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted while we listed: it is not there any more
            yield Entry(
                key=key,
                size=info.st_size,
                modified=dt.datetime.fromtimestamp(info.st_mtime, dt.UTC),
            )


@hookimpl
def byob_list(store: Store, request: ListRequest) -> Iterator[Entry]:
    if request.kind is not Kind.OBJECTS:
        return iter(())  # a directory has no versions and no multipart uploads
    root = _root(store)
    # Walk from the deepest folder the prefix names; filter the rest by prefix.
    folder, _, _ = request.prefix.rpartition("/")
    base = folder + "/" if folder else ""
    start = os.path.join(root, folder) if folder else root
    return (
        entry
        for entry in _walk(start, base, request.start_after, request.prefix)
        if entry.key.startswith(request.prefix)
    )


@hookimpl
def byob_garbage_collect(store: Store, batch: DeleteBatch) -> DeleteResult:
    root = _root(store)
    deleted: list[Entry] = []
    errors: list[tuple[str, str]] = []
    for entry in batch.entries:
        try:
            os.remove(os.path.join(root, entry.key))
        except FileNotFoundError:
            deleted.append(entry)  # already gone: the end state holds
        except OSError as exc:
            errors.append((entry.key, exc.strerror or str(exc)))
        else:
            deleted.append(entry)
    return DeleteResult(deleted=deleted, errors=errors)
