"""byob-memory: buckets that live in the process's memory, as a model third-party plugin.

Everything a provider needs is here: a declaration (`byob_providers`), the filesystem
(`byob_filesystem`), provisioning, validation, listing and deletion. It cannot sign URLs
(nothing outside the process could use them) and says so in its `ProviderSpec`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from byob_core import (
    Action,
    Change,
    DeleteBatch,
    DeleteResult,
    Entry,
    Finding,
    Kind,
    ListRequest,
    Plan,
    ProviderSpec,
    ProvisionContext,
    Store,
    ValidateContext,
    hookimpl,
)


def _fs():  # type: ignore[no-untyped-def]
    # Imported on first use, never at module level: plugin discovery must stay cheap.
    from fsspec.implementations.memory import MemoryFileSystem

    return MemoryFileSystem()


@hookimpl
def byob_providers() -> list[ProviderSpec]:
    return [ProviderSpec(name="memory", schemes=("memory",), can_sign=False, max_expiry=None)]


@hookimpl
def byob_filesystem(store: Store):  # type: ignore[no-untyped-def]
    return _fs()


@hookimpl
def byob_provision(store: Store, context: ProvisionContext) -> Plan:
    fs = _fs()
    exists = fs.isdir(store.bucket)
    if context.apply and not exists:
        fs.mkdir(store.bucket)
    change = Change(
        name="bucket",
        action=Action.NONE if exists else Action.CREATE,
        summary=f"in-memory bucket {store.bucket} " + ("exists" if exists else "will be created"),
        current={"exists": exists},
        desired={"exists": True},
        applied=context.apply and not exists,
    )
    return Plan(store=store, changes=[change], applied=context.apply)


@hookimpl
def byob_validate(store: Store, context: ValidateContext) -> list[Finding]:
    if _fs().isdir(store.bucket):
        return [Finding.passed("memory.bucket", f"bucket {store.bucket} exists")]
    return [
        Finding.failed(
            "memory.bucket",
            f"bucket {store.bucket} does not exist",
            hint="run `python -m byob_core provision`",
        )
    ]


@hookimpl
def byob_list(store: Store, request: ListRequest) -> Iterator[Entry]:
    # A generator: entries are produced one folder at a time, in key order, as garbage
    # collection asks for them; nothing is listed up front.
    if request.kind is not Kind.OBJECTS:
        return
    folder, _, _ = request.prefix.rpartition("/")
    for entry in _walk(
        _fs(), f"/{store.bucket}/", folder + "/" if folder else "", request.start_after
    ):
        if entry.key.startswith(request.prefix):
            yield entry


def _walk(fs, root: str, relative: str, start_after: str | None) -> Iterator[Entry]:  # type: ignore[no-untyped-def]
    try:
        infos = fs.ls(root + relative, detail=True)
    except FileNotFoundError:
        return
    # A folder sorts as "name/", so that "a-c" < "a/b" < "a0" as object keys do.
    children = sorted(
        (info["name"].rsplit("/", 1)[-1] + ("/" if info["type"] == "directory" else ""), info)
        for info in infos
    )
    for name, info in children:
        key = relative + name
        if name.endswith("/"):
            if start_after is None or start_after < key or start_after.startswith(key):
                yield from _walk(fs, root, key, start_after)
        elif start_after is None or key > start_after:
            created = info.get("created", 0)
            modified = (
                dt.datetime.fromtimestamp(created, dt.UTC)
                if isinstance(created, float)
                else created
            )
            yield Entry(key=key, size=info["size"], modified=modified)


@hookimpl
def byob_garbage_collect(store: Store, batch: DeleteBatch) -> DeleteResult:
    fs = _fs()
    deleted, errors = [], []
    for entry in batch.entries:
        try:
            fs.rm_file(store.fs_path(entry.key))
        except FileNotFoundError:
            deleted.append(entry)
        except OSError as exc:
            errors.append((entry.key, str(exc)))
        else:
            deleted.append(entry)
    return DeleteResult(deleted=deleted, errors=errors)
