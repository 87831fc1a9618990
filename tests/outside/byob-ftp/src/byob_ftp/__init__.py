"""byob-ftp: an FTP server as a byob store (a top-level folder plays the bucket).

Only three hooks: the declaration, the filesystem and provisioning. The ``ftp://``
scheme parses with the core's generic form, FTP's folders are handled by the core
(``hierarchical=True``), and listing and garbage collection are the core's fallbacks
over the filesystem. FTP has no pre-signed URLs: ``can_sign=False``.
"""

from __future__ import annotations

from typing import Any

from byob_core import Action, Change, Finding, Plan, ProviderSpec, ProvisionContext, Store, hookimpl

SPEC = ProviderSpec(
    name="ftp",
    schemes=("ftp",),
    family="other",
    description="an FTP server; a top-level folder is the bucket",
    can_sign=False,
    max_expiry=None,
    gc_batch_size=100,
    hierarchical=True,
)


@hookimpl
def byob_providers() -> list[ProviderSpec]:
    return [SPEC]


@hookimpl
def byob_filesystem(store: Store) -> Any:
    # Imported here, never at module level: plugin discovery must stay cheap.
    from fsspec.implementations.ftp import FTPFileSystem

    host, _, port = (store.endpoint or "").partition(":")
    creds = store.credentials
    return FTPFileSystem(
        host=host,
        port=int(port or 21),
        username=creds.access_key or "anonymous",
        password=creds.secret_key or "",
        timeout=30,
        skip_instance_cache=True,
    )


@hookimpl
def byob_provision(store: Store, context: ProvisionContext) -> Plan:
    fs = byob_filesystem(store)
    folders = [("bucket", store.bucket)]
    if store.subpath:
        folders.append(("subpath-folder", f"{store.bucket}/{store.subpath}"))
    changes = []
    for name, path in folders:
        exists = fs.isdir(path)
        if context.apply and not exists:
            fs.makedirs(path, exist_ok=True)
        changes.append(
            Change(
                name=name,
                action=Action.NONE if exists else Action.CREATE,
                summary=f"folder {path} on {store.endpoint} "
                + ("exists" if exists else "will be created"),
                current={"exists": exists},
                desired={"exists": True},
                applied=context.apply and not exists,
            )
        )
    return Plan(store=store, changes=changes, applied=context.apply)


@hookimpl
def byob_validate(store: Store, context: Any) -> list[Finding]:
    fs = context.fs or byob_filesystem(store)
    if not fs.isdir(store.bucket):
        return [
            Finding.failed(
                "ftp.folder",
                f"folder {store.bucket} does not exist on {store.endpoint}",
                hint="run `python -m byob_core provision` to create it",
            )
        ]
    return [Finding.passed("ftp.folder", f"folder {store.bucket} exists on {store.endpoint}")]
