"""Garbage collection past one process: the key space in shards, run here or on Dask.

`byob_core.gc` decides, for one range of keys, what may go; this module cuts the key
space into shards, runs one `byob_core.gc.collect` per shard (in this process, or as
Dask tasks on a local or an existing cluster) and adds up their reports. Every safety
rule stays with the engine, per shard:

- **One cutoff for all shards**, fixed when the run starts and kept by the run journal,
  so a shard that starts late (or resumes) does not see a later cutoff.
- **Shards cover every key once**: shard *i* is the relative keys in ``(b[i-1], b[i]]``
  with ``b[-1] = b[n] = unbounded``; the bounds are live keys at even quantiles of the
  sorted live set, so each shard has about as many live keys to merge-join.
- **Each shard has its own journal** (``<journal>.shard-00003-of-00016.json``), and the
  run journal records which shards finished, with their counters; a killed run resumes
  per shard with the same cutoff.
- **A shard that fails** (a provider error, a lost worker) is reported by index with the
  error; the others finish. The run is then not ok (exit 1) and the next run with the
  same live set resumes the failed shard where its journal left it.

>>> from byob_core.gc import LiveSet, load_live_keys
>>> [s.upto for s in plan_shards(load_live_keys(["a", "b", "c", "d"]), 2)]
['b', None]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import structlog

from byob_core import gc
from byob_core.errors import GcError
from byob_core.gc import GcInputError, GcOptions, GcReport, LiveSet, Shard

if TYPE_CHECKING:
    from byob_core.plugins import PluginHost
    from byob_core.stores import Store

log = structlog.get_logger("byob.gc")

__all__ = ["Execution", "collect", "plan_shards"]

RUN_JOURNAL_VERSION = 1
#: Shards per worker with ``--shards auto``: enough to even out uneven shards.
AUTO_SHARDS_PER_WORKER = 4
#: Seconds between two progress messages from a Dask worker.
PROGRESS_SECONDS = 0.5


@attrs.frozen(kw_only=True)
class Execution:
    """Where and how widely a collection runs.

    executor: ``"local"`` (shards one after another in this process) or ``"dask"``.
    shards: a number, or ``"auto"`` (`AUTO_SHARDS_PER_WORKER` per worker; 1 locally).
    workers: processes of a local Dask cluster started for the run.
    scheduler: the address of an existing Dask scheduler (``tcp://host:8786``).
    host_factory: builds the plugin host in a Dask worker (a module-level function, so it
        can be pickled); the default discovers the installed plugins.
    """

    executor: str = attrs.field(default="local")
    shards: int | str = attrs.field(default=1)
    workers: int | None = attrs.field(default=None)
    scheduler: str | None = None
    host_factory: Callable[[], PluginHost] | None = None

    @executor.validator
    def _check_executor(self, _: Any, value: str) -> None:
        if value not in ("local", "dask"):
            raise GcInputError(f"unknown executor {value!r}: use local or dask")

    @shards.validator
    def _check_shards(self, _: Any, value: int | str) -> None:
        if value == "auto":
            return
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise GcInputError(
                f"--shards must be a positive number or auto, not {value!r}",
                hint="--shards 16, or --shards auto",
            )

    @workers.validator
    def _check_workers(self, _: Any, value: int | None) -> None:
        if value is not None and (not isinstance(value, int) or value < 1):
            raise GcInputError(f"--workers must be a positive number, not {value!r}")

    @classmethod
    def from_args(
        cls,
        *,
        workers: int | None = None,
        scheduler: str | None = None,
        shards: int | str | None = None,
    ) -> Execution:
        """The execution the CLI's ``--workers/--scheduler/--shards`` ask for."""
        if workers is not None and scheduler is not None:
            raise GcInputError(
                "--workers and --scheduler exclude each other",
                hint="--workers N starts a local cluster; --scheduler uses an existing one",
            )
        dask = workers is not None or scheduler is not None
        return cls(
            executor="dask" if dask else "local",
            shards=shards if shards is not None else ("auto" if dask else 1),
            workers=workers,
            scheduler=scheduler,
        )

    def shard_count(self, parallelism: int) -> int:
        if isinstance(self.shards, int):
            return self.shards
        return 1 if self.executor == "local" else max(1, parallelism * AUTO_SHARDS_PER_WORKER)


# -- planning ------------------------------------------------------------------------------


def _sorted_keys(live: LiveSet) -> Iterable[str]:
    stream = getattr(live, "sorted_keys", None)
    return stream() if stream is not None else sorted(live.keys)


def plan_shards(live: LiveSet, count: int) -> list[Shard]:
    """`count` shards (fewer when the live set is small) bounded by live-key quantiles."""
    total = len(live)
    count = max(1, min(count, total))
    if count == 1:
        return [gc.WHOLE]
    wanted = {total * i // count - 1 for i in range(1, count)}
    bounds: list[str] = []
    for position, key in enumerate(_sorted_keys(live)):
        if position in wanted and (not bounds or key > bounds[-1]):
            bounds.append(key)
    edges: list[str | None] = [None, *bounds, None]
    n = len(edges) - 1
    return [Shard(index=i, count=n, after=edges[i], upto=edges[i + 1]) for i in range(n)]


def _slice(live: LiveSet, shard: Shard) -> LiveSet:
    """What a worker needs of `live` for `shard`, with the whole set's digest."""
    own = getattr(live, "slice", None)
    if own is not None:
        return own(shard.after, shard.upto)  # type: ignore[no-any-return]
    if shard.whole:
        return live
    keys = frozenset(k for k in live.keys if shard.contains(k))
    return LiveSet(keys=keys, digest=live.digest, source=live.source)


# -- the run journal -----------------------------------------------------------------------


def _run_journal(options: GcOptions, store: Store) -> Path | None:
    base = options.journal_for(store)
    return None if base is None else base.with_name(f"{base.stem}.shards.json")


def _plan_identity(store: Store, live: LiveSet, options: GcOptions, shards: list[Shard]) -> Any:
    return {
        "store": list(store.identity),
        "live": live.digest,
        "grace_seconds": options.grace.total_seconds(),
        "shards": [[s.after, s.upto] for s in shards],
    }


def _read_run_journal(path: Path | None, identity: Any) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("gc_run_journal_ignored", journal=str(path))
        return None
    if not isinstance(data, dict) or data.get("version") != RUN_JOURNAL_VERSION:
        return None
    if data.get("identity") != identity:
        return None
    return data


# -- running -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Task:
    """Everything one shard's run needs, picklable for a Dask worker."""

    store: Store
    live: LiveSet
    options: GcOptions
    now: dt.datetime
    shard: Shard
    inventory: str | None = None
    host_factory: Callable[[], PluginHost] | None = None
    progress_queue: str | None = None
    nested: tuple[str, ...] = ()


_HOSTS: dict[Any, PluginHost] = {}


def _worker_host(factory: Callable[[], PluginHost] | None) -> PluginHost:
    host = _HOSTS.get(factory)
    if host is None:
        from byob_core import logs
        from byob_core.plugins import PluginHost

        logs.configure()  # a worker logs as the CLI does (BYOB_LOG_LEVEL, BYOB_LOG_FORMAT)

        host = factory() if factory is not None else PluginHost.load()
        _HOSTS[factory] = host
    return host


def _run_task(task: _Task, host: PluginHost | None = None, on_progress: Any = None) -> GcReport:
    if host is None:
        host = _worker_host(task.host_factory)
    # A store crossing a process boundary is rebuilt, so its secrets are registered
    # for redaction in the worker too.
    store = attrs.evolve(task.store)
    lister = recheck = None
    if task.inventory is not None:
        from byob_core import inventory

        source = inventory.open_inventory(task.inventory)
        lister, recheck = source.lister(host, store, task.shard), source.rechecker(host, store)
    if on_progress is None and task.progress_queue is not None:
        on_progress = _QueueProgress(task.progress_queue, task.shard.index)
    report = gc.collect(
        host,
        store,
        task.live,
        task.options,
        now=task.now,
        shard=task.shard,
        lister=lister,
        recheck=recheck,
        on_progress=on_progress,
        nested=task.nested,
        take_lock=False,  # the coordinator holds the store's lock for every shard
    )
    if report.gave_up:
        # A shard the store cut short is a failed shard: its journal resumes next run.
        raise OSError(report.gave_up)
    return report


def _dask_task(task: _Task) -> dict[str, Any]:
    """A Dask task: one shard's collection; its report as plain data."""
    report = _run_task(task)
    return _report_state(report)


class _QueueProgress:
    """Sends a shard's counters to the client through a named Dask queue, twice a second."""

    def __init__(self, name: str, index: int) -> None:
        from distributed import Queue

        self.queue = Queue(name)
        self.index = index
        self.sent = 0.0

    def __call__(self, report: GcReport) -> None:
        now = time.monotonic()
        if now - self.sent >= PROGRESS_SECONDS:
            self.sent = now
            with contextlib.suppress(Exception):  # progress is best effort
                self.queue.put([self.index, report.phase, report.counters()])


def _report_state(report: GcReport) -> dict[str, Any]:
    return {
        "counters": report.counters(),
        "errors": [list(e) for e in report.errors],
        "would_delete": list(report.would_delete),
        "would_purge": [list(p) for p in report.would_purge],
        "would_abort": [list(a) for a in report.would_abort],
        "resumed": report.resumed,
        "phases": list(report.phases),
        "cutoff": report.cutoff.isoformat() if report.cutoff else None,
    }


def collect(
    host: PluginHost,
    store: Store,
    live: LiveSet | str | os.PathLike[str] | Iterable[str],
    options: GcOptions | None = None,
    execution: Execution | None = None,
    *,
    now: dt.datetime | None = None,
    inventory: str | None = None,
    on_progress: Callable[[GcReport], None] | None = None,
    nested: Iterable[str] = (),
) -> GcReport:
    """Collect `store` in shards; the report adds ``executor``, ``shards``, ``per_shard``.

    With one shard on the local executor this is `byob_core.gc.collect`. `inventory`
    names an inventory manifest (see `byob_core.inventory`) read instead of listing
    current objects; each candidate is re-read before it is deleted. `nested` are the
    prefixes of other stores inside this one (see `byob_core.gc.collect`).
    """
    options = options or GcOptions()
    execution = execution or Execution()
    live_set = live if isinstance(live, LiveSet) else gc.load_live_keys(live)
    if len(live_set) == 0 and not options.allow_empty_live:
        raise GcInputError(
            "the live set is empty: every object older than the grace period would be deleted",
            hint="check the live-key export; pass allow_empty_live (--allow-empty-live) if meant",
        )
    start = now if now is not None else dt.datetime.now(dt.UTC)
    if execution.executor == "local" and execution.shards == 1 and inventory is None:
        report = gc.collect(
            host, store, live_set, options, now=start, on_progress=on_progress, nested=nested
        )
        return report
    client, cluster = _connect(execution) if execution.executor == "dask" else (None, None)
    try:
        parallelism = _parallelism(client) if client is not None else 1
        shards = plan_shards(live_set, execution.shard_count(parallelism))
        coordinator = _Coordinator(
            host, store, live_set, options, execution, shards, start, inventory, on_progress
        )
        coordinator.nested = tuple(nested)
        return coordinator.run(client)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _connect(execution: Execution) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise GcInputError(
            "the dask executor needs dask and distributed",
            hint="pip install 'byob-core[dask]'",
        ) from None
    if execution.scheduler is not None:
        try:
            return Client(execution.scheduler, timeout=10), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise GcInputError(
                f"cannot reach the Dask scheduler {execution.scheduler}: {exc}",
                hint="check the address (tcp://host:8786) and that the scheduler runs; "
                "nothing was deleted",
            ) from None
    cluster = LocalCluster(
        n_workers=execution.workers or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    return Client(cluster), cluster


def _parallelism(client: Any) -> int:
    with contextlib.suppress(Exception):
        return max(1, len(client.scheduler_info().get("workers", {})))
    return 1


class _Coordinator:
    """Runs the shards of one plan and adds up what they did."""

    def __init__(
        self,
        host: PluginHost,
        store: Store,
        live: LiveSet,
        options: GcOptions,
        execution: Execution,
        shards: list[Shard],
        start: dt.datetime,
        inventory: str | None,
        on_progress: Callable[[GcReport], None] | None,
    ) -> None:
        self.host = host
        self.store = store
        self.live = live
        self.options = options
        self.execution = execution
        self.shards = shards
        self.inventory = inventory
        self.on_progress = on_progress
        self.journal = None if options.dry_run else _run_journal(options, store)
        self.identity = _plan_identity(store, live, options, shards)
        previous = _read_run_journal(self.journal, self.identity)
        self.done: dict[int, dict[str, Any]] = {}
        self.start = start
        if previous is not None:
            # The run journal keeps the first start so that every shard shares one cutoff;
            # it can only ever keep more. A start after now (a clock that jumped, an edited
            # or foreign journal) would put the cutoff after now - grace: now wins.
            try:
                first = dt.datetime.fromisoformat(previous["now"])
            except (TypeError, ValueError):
                first = start
            self.start = min(first, start) if first.tzinfo is not None else start
            self.done = {int(k): v for k, v in previous.get("done", {}).items()}
        #: Shards a previous run finished (taken from the run journal, not run again).
        self.carried = frozenset(self.done)
        self.failed: dict[int, str] = {}
        self.nested: tuple[str, ...] = ()
        self.live_counters: dict[int, tuple[str | None, dict[str, int]]] = {}

    def _task(self, shard: Shard, queue: str | None = None) -> _Task:
        return _Task(
            store=self.store,
            live=_slice(self.live, shard),
            options=self.options,
            now=self.start,
            shard=shard,
            inventory=self.inventory,
            host_factory=self.execution.host_factory,
            progress_queue=queue,
            nested=self.nested,
        )

    def _record(self, index: int, state: dict[str, Any]) -> None:
        self.done[index] = state
        self.live_counters.pop(index, None)
        if self.journal is not None:
            data = {
                "version": RUN_JOURNAL_VERSION,
                "identity": self.identity,
                "now": self.start.isoformat(),
                "done": {str(k): v for k, v in self.done.items()},
            }
            gc._write_journal(self.journal, data)

    def run(self, client: Any) -> GcReport:
        base = self.options.journal_for(self.store)
        if base is None or self.options.dry_run:
            return self._run(client)
        # One lock for the whole run: shards (here or on workers) run under it.
        with gc._store_lock(gc.lock_path(base, self.store), self.store):
            for shard in self.shards:
                gc._remove_leftovers(shard.journal(base))
            if self.journal is not None:
                gc._remove_leftovers(self.journal)
            return self._run(client)

    def _run(self, client: Any) -> GcReport:
        todo = [s for s in self.shards if s.index not in self.done]
        log.info(
            "gc_sharded_start",
            store=self.store.display,
            executor=self.execution.executor,
            shards=len(self.shards),
            resumed_shards=len(self.shards) - len(todo),
        )
        if client is None:
            self._run_local(todo)
        else:
            self._run_dask(client, todo)
        report = self._merge()
        if self.journal is not None and not self.failed:
            self.journal.unlink(missing_ok=True)
        self._progress(report)
        return report

    def _run_local(self, todo: Sequence[Shard]) -> None:
        for shard in todo:

            def progress(report: GcReport, index: int = shard.index) -> None:
                self.live_counters[index] = (report.phase, report.counters())
                self._progress(None)

            try:
                report = _run_task(self._task(shard), host=self.host, on_progress=progress)
            except GcInputError:
                raise
            except Exception as exc:
                self.failed[shard.index] = _describe(exc)
                log.warning("gc_shard_failed", shard=shard.index, error=_describe(exc))
                continue
            self._record(shard.index, _report_state(report))

    def _run_dask(self, client: Any, todo: Sequence[Shard]) -> None:
        from distributed import Queue, wait

        name = f"byob-gc-progress-{uuid.uuid4().hex}"
        queue = Queue(name, client=client)
        futures = {
            client.submit(_dask_task, self._task(s, name), pure=False, retries=0): s for s in todo
        }
        pending = set(futures)
        while pending:
            try:
                finished, pending = wait(
                    pending, timeout=PROGRESS_SECONDS, return_when="FIRST_COMPLETED"
                )
            except TimeoutError:
                finished = set()  # nothing finished yet: report progress and wait on
            self._drain(queue)
            for future in finished:
                shard = futures[future]
                try:
                    self._record(shard.index, future.result())
                except GcInputError:
                    raise
                except Exception as exc:
                    self.failed[shard.index] = _describe(exc)
                    log.warning("gc_shard_failed", shard=shard.index, error=_describe(exc))
            self._progress(None)

    def _drain(self, queue: Any) -> None:
        with contextlib.suppress(Exception):
            for index, phase, counters in queue.get(batch=True):
                if index not in self.done:
                    self.live_counters[index] = (phase, counters)

    def _progress(self, final: GcReport | None) -> None:
        if self.on_progress is None:
            return
        self.on_progress(final if final is not None else self._merge(partial=True))

    def _merge(self, partial: bool = False) -> GcReport:
        report = GcReport(
            store=self.store.display,
            prefix=self.store.prefix,
            cutoff=self.start - self.options.grace,
            dry_run=self.options.dry_run,
            executor=self.execution.executor,
            shards=len(self.shards),
        )
        report.resumed = bool(self.carried)
        phases: set[str] = set()
        for shard in self.shards:
            state = self.done.get(shard.index)
            entry: dict[str, Any] = {**shard.to_dict(), "state": "done"}
            if shard.index in self.carried:
                entry["resumed"] = True  # finished by an earlier run
            if state is not None:
                counters = state["counters"]
                room = gc.MAX_ERRORS - len(report.errors)
                report.errors.extend((k, m) for k, m in state["errors"][: max(0, room)])
                report.error_count += int(counters.get("error_count", 0))
                report.would_delete.extend(state["would_delete"])
                report.would_purge.extend((k, v) for k, v in state["would_purge"])
                report.would_abort.extend((k, u) for k, u in state["would_abort"])
                report.resumed = report.resumed or state["resumed"]
                phases.update(state["phases"])
                if state.get("cutoff"):
                    report.cutoff = dt.datetime.fromisoformat(state["cutoff"])
            elif shard.index in self.live_counters:
                phase, counters = self.live_counters[shard.index]
                entry["state"] = "running"
                report.phase = report.phase or phase
            else:
                counters = {}
                entry["state"] = "failed" if shard.index in self.failed else "pending"
            for name, value in counters.items():
                if name != "error_count" and hasattr(report, name):
                    setattr(report, name, getattr(report, name) + value)
            entry.update(counters)
            if shard.index in self.failed:
                entry["error"] = self.failed[shard.index]
            report.per_shard.append(entry)
        for index, message in sorted(self.failed.items()):
            report._error(f"<shard {index}>", f"shard not finished: {message}")
        report.phases = sorted(phases, key=("objects", "versions", "uploads").index)
        if not partial:
            report.phase = None
            all_done = len(self.done) == len(self.shards)
            if all_done and not report.resumed and self.inventory is None:
                report.live_missing = max(0, len(self.live) - report.kept_live)
        return report


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, GcError) else text
