"""Provider inventories read instead of listing: S3 Inventory, GCS Storage Insights
inventory reports, Azure Blob Inventory.

For the largest buckets a listing is the slow part of garbage collection (about 20,000
keys per second per lister). The clouds write the same information on a schedule as CSV,
ORC or Parquet files with a manifest; ``gc --inventory MANIFEST`` reads those (with
pyarrow: ``pip install 'byob-core[inventory]'``) for the objects phase.

An inventory is stale the moment it is written, so:

- only objects it lists can be candidates: an object written after it was taken is not
  in it and is never touched;
- a candidate is the engine's usual one (not live, not reserved, older than the grace
  period by the inventory's own modification time), and is **re-read just before it is
  deleted** (one HEAD or metadata GET per candidate, through the provider's fsspec
  filesystem): an object gone since is skipped, an object whose modification time, size
  or ETag changed since is kept (counted in ``kept_changed``).

The re-check is the cost of the shortcut: one metadata request per candidate (per
object about to be deleted, not per object listed). docs/gc.md works out when that is
cheaper than listing.

Recognised manifests (`open_inventory`):

- **S3 Inventory** ``manifest.json``: ``fileFormat`` CSV (gzip, no header, columns from
  ``fileSchema``, keys URL-encoded), ORC or Parquet; ``files[].key`` relative to the
  destination bucket.
- **GCS inventory report** manifest (``…_manifest.json``): ``report_shards_file_names``
  beside it, CSV with a header or Parquet; ``snapshot_time``.
- **Azure Blob Inventory** (``…-manifest.json``): ``files[].blob`` relative to the
  destination container, CSV with a header or Parquet; ``Name`` is ``container/blob``.

Only current, not deleted objects are candidates (``IsLatest``, not ``IsDeleteMarker``;
no ``timeDeleted``; ``IsCurrentVersion`` and not ``Deleted``); versions and uploads are
still listed.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import posixpath
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from byob_core.errors import GcError
from byob_core.gc import WHOLE, GcInputError, Shard
from byob_core.objects import Entry, Kind, ListRequest

if TYPE_CHECKING:
    from byob_core.plugins import PluginHost
    from byob_core.stores import Store

__all__ = ["Inventory", "open_inventory"]

#: Modification times closer than this are the same (inventories keep milliseconds).
SAME_TIME = dt.timedelta(seconds=1)
_ANCESTORS = 8


@attrs.frozen(kw_only=True)
class Inventory:
    """One inventory run: where its files are and how to read them."""

    kind: str  # "s3", "gcs" or "azure"
    manifest: str
    format: str  # "csv", "orc" or "parquet"
    files: tuple[str, ...]
    snapshot: dt.datetime | None = None
    #: CSV columns when the files have no header (S3 CSV).
    columns: tuple[str, ...] = ()

    # -- reading --------------------------------------------------------------------------
    def rows(self, store: Store, shard: Shard = WHOLE) -> list[Entry]:
        """The current objects of `store` in `shard`, sorted by key, as entries."""
        found: list[Entry] = []
        for url in self.files:
            found.extend(self._file_rows(url, store, shard))
        found.sort(key=lambda entry: entry.key)
        deduplicated: list[Entry] = []
        for entry in found:
            if deduplicated and deduplicated[-1].key == entry.key:
                # Two rows for one current key: the inventory is inconsistent; keep the
                # newer reading, which is the one that keeps the object longest.
                if entry.modified > deduplicated[-1].modified:
                    deduplicated[-1] = entry
                continue
            deduplicated.append(entry)
        return deduplicated

    def _table(self, url: str) -> Any:
        import fsspec

        try:
            import pyarrow.csv as pacsv
            import pyarrow.orc as paorc
            import pyarrow.parquet as pq
        except ImportError:
            raise GcInputError(
                "reading an inventory needs pyarrow", hint="pip install 'byob-core[inventory]'"
            ) from None
        compression = "gzip" if url.endswith(".gz") else None
        with fsspec.open(url, "rb", compression=compression) as handle:
            if self.format == "parquet":
                return pq.read_table(handle)
            if self.format == "orc":
                return paorc.ORCFile(handle).read()
            read = pacsv.ReadOptions(column_names=list(self.columns) or None)
            convert = pacsv.ConvertOptions(strings_can_be_null=False)
            return pacsv.read_csv(handle, read_options=read, convert_options=convert)

    def _file_rows(self, url: str, store: Store, shard: Shard) -> Iterator[Entry]:
        table = self._table(url)
        names = {name.lower().replace("-", "_"): name for name in table.column_names}
        pick = _PICKERS[self.kind]
        prefix = store.prefix
        for row in table.to_pylist():
            picked = pick(row, names, store)
            if picked is None:
                continue
            key, size, modified, etag = picked
            if not key.startswith(prefix) or len(key) <= len(prefix):
                continue
            if not shard.contains(key[len(prefix) :]):
                continue
            yield Entry(key=key, size=size, modified=modified, etag=etag)

    # -- what a run uses ----------------------------------------------------------------------
    def lister(self, host: PluginHost, store: Store, shard: Shard) -> Any:
        """A lister for `byob_core.gc.collect`: this inventory for objects, the provider
        for versions and uploads."""
        rows: list[Entry] | None = None

        def list_entries(request: ListRequest) -> Iterator[Entry]:
            nonlocal rows
            if request.kind is not Kind.OBJECTS:
                yield from host.list(store, request)
                return
            if rows is None:
                rows = self.rows(store, shard)
            after = request.start_after
            for entry in rows:
                if after is None or entry.key > after:
                    yield entry

        return list_entries

    def rechecker(self, host: PluginHost, store: Store) -> Any:
        """Re-reads each candidate just before it is deleted (see the module docs)."""
        fs = host.filesystem(store)

        def recheck(entries: Sequence[Entry]) -> list[Entry]:
            paths = [store.fs_path(entry.key) for entry in entries]
            infos = _infos(fs, paths)
            still: list[Entry] = []
            for entry, path in zip(entries, paths, strict=True):
                info = infos.get(path)
                if info is not None and _unchanged(entry, info):
                    still.append(entry)
            return still

        return recheck


def _infos(fs: Any, paths: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in paths:
        try:
            found[path] = fs.info(path)
        except FileNotFoundError:
            continue
    return found


def _unchanged(entry: Entry, info: dict[str, Any]) -> bool:
    size = info.get("size")
    if size is not None and int(size) != entry.size:
        return False
    etag = info.get("ETag") or info.get("etag")
    if entry.etag and etag and str(etag).strip('"') != entry.etag.strip('"'):
        return False
    modified = _modified_of(info)
    if modified is None:
        return False  # cannot tell it is the same object: keep it
    return abs(modified - entry.modified) < SAME_TIME


def _modified_of(info: dict[str, Any]) -> dt.datetime | None:
    for name in ("LastModified", "last_modified", "updated", "mtime", "modified"):
        value = info.get(name)
        if value is not None:
            return _time(value)
    return None


def _time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    text = str(value).strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _true(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


Picked = tuple[str, int, dt.datetime, str | None] | None


def _get(row: dict[str, Any], names: dict[str, str], *wanted: str) -> Any:
    for name in wanted:
        column = names.get(name)
        if column is not None:
            return row.get(column)
    return None


def _pick_s3(row: dict[str, Any], names: dict[str, str], store: Store) -> Picked:
    if _get(row, names, "bucket") not in (None, store.bucket):
        return None
    latest = _get(row, names, "islatest", "is_latest")
    if latest is not None and not _true(latest):
        return None
    if _true(_get(row, names, "isdeletemarker", "is_delete_marker") or False):
        return None
    key = _get(row, names, "key")
    if key is None:
        return None
    if names.get("key") == "Key":  # CSV: keys are URL-encoded
        key = urllib.parse.unquote_plus(key)
    modified = _get(row, names, "lastmodifieddate", "last_modified_date")
    if modified is None:
        return None
    size = _get(row, names, "size") or 0
    etag = _get(row, names, "etag", "e_tag")
    return key, int(size), _time(modified), etag or None


def _pick_gcs(row: dict[str, Any], names: dict[str, str], store: Store) -> Picked:
    if _get(row, names, "bucket") not in (None, store.bucket):
        return None
    if _get(row, names, "timedeleted", "time_deleted"):
        return None
    key = _get(row, names, "name")
    modified = _get(row, names, "updated")
    if key is None or modified is None:
        return None
    size = _get(row, names, "size") or 0
    return key, int(size), _time(modified), _get(row, names, "etag") or None


def _pick_azure(row: dict[str, Any], names: dict[str, str], store: Store) -> Picked:
    name = _get(row, names, "name")
    modified = _get(row, names, "last_modified")
    if name is None or modified is None:
        return None
    container = (store.container or store.bucket) + "/"
    if not name.startswith(container):
        return None  # another container of the account
    current = _get(row, names, "iscurrentversion")
    if current is not None and not _true(current):
        return None
    if _true(_get(row, names, "deleted") or False) or _get(row, names, "snapshot"):
        return None
    size = _get(row, names, "content_length") or 0
    return name[len(container) :], int(size), _time(modified), _get(row, names, "etag") or None


_PICKERS = {"s3": _pick_s3, "gcs": _pick_gcs, "azure": _pick_azure}


# -- manifests ---------------------------------------------------------------------------


def open_inventory(url: str) -> Inventory:
    """Read the manifest at `url` (a path or an fsspec URL) and find its data files."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url)
        with fs.open(path, "rb") as handle:
            data = json.loads(handle.read(16 * 1024 * 1024))
    except FileNotFoundError:
        raise GcInputError(f"no inventory manifest at {url}") from None
    except (OSError, ValueError) as exc:
        raise GcInputError(
            f"cannot read the inventory manifest {url}: {exc}",
            hint="give the manifest.json of an S3 Inventory, GCS inventory report or "
            "Azure Blob Inventory run",
        ) from None
    if not isinstance(data, dict):
        raise GcInputError(f"{url} is not an inventory manifest (not a JSON object)")
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]

    def resolve(name: str) -> str:
        return _resolve(fs, path, name, protocol)

    if "fileSchema" in data and "files" in data:
        fmt = str(data.get("fileFormat", "CSV")).lower()
        columns = (
            tuple(c.strip() for c in str(data["fileSchema"]).split(",")) if fmt == "csv" else ()
        )
        stamp = data.get("creationTimestamp")
        snapshot = (
            dt.datetime.fromtimestamp(int(stamp) / 1000, dt.UTC) if stamp is not None else None
        )
        files = tuple(resolve(f["key"]) for f in data["files"])
        return Inventory(
            kind="s3", manifest=url, format=fmt, files=files, snapshot=snapshot, columns=columns
        )
    if "report_shards_file_names" in data:
        names = tuple(data["report_shards_file_names"])
        fmt = "parquet" if names and names[0].endswith(".parquet") else "csv"
        snapshot = _time(data["snapshot_time"]) if data.get("snapshot_time") else None
        return Inventory(
            kind="gcs",
            manifest=url,
            format=fmt,
            files=tuple(resolve(n) for n in names),
            snapshot=snapshot,
        )
    if "files" in data and "destinationContainer" in data:
        blobs = tuple(f["blob"] for f in data["files"])
        fmt = "parquet" if blobs and blobs[0].endswith(".parquet") else "csv"
        stamp = data.get("inventoryStartTime") or data.get("inventoryCompletionTime")
        return Inventory(
            kind="azure",
            manifest=url,
            format=fmt,
            files=tuple(resolve(b) for b in blobs),
            snapshot=_time(stamp) if stamp else None,
        )
    raise GcInputError(
        f"{url} is not an inventory manifest byob knows",
        hint="S3 Inventory manifest.json, a GCS inventory report manifest, or an Azure "
        "Blob Inventory manifest",
    )


def _resolve(fs: Any, manifest_path: str, name: str, protocol: str) -> str:
    """A data file's URL: `name` is relative to the destination bucket (or container),
    which is an ancestor of the manifest's folder; the nearest that holds it wins."""
    if "://" in name:
        return name
    folder = posixpath.dirname(manifest_path)
    for _ in range(_ANCESTORS):
        candidate = posixpath.join(folder, name)
        if fs.exists(candidate):
            return _url(protocol, candidate)
        candidate = posixpath.join(folder, posixpath.basename(name))
        if fs.exists(candidate):
            return _url(protocol, candidate)
        parent = posixpath.dirname(folder)
        if parent == folder:
            break
        folder = parent
    raise GcError(
        f"the inventory lists {name!r}, which is not beside its manifest nor under any "
        "folder above it",
        hint="copy the inventory with its folder layout (destination bucket or container)",
    )


def _url(protocol: str, path: str) -> str:
    return path if protocol in ("file", "local") else f"{protocol}://{path}"
