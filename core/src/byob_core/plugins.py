"""`PluginHost`: the plugin manager, guarded entry-point loading, provider routing, typed calls.

Core code never calls ``pm.hook.<name>(...)`` loosely: it goes through the methods here,
which route each verb to the one plugin that owns the store's provider.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any, cast

import attrs
import pluggy
import structlog

from byob_core import hookspecs
from byob_core.errors import PluginError, ProviderNotFoundError, UnsupportedError, UriError
from byob_core.provider import ProviderSpec

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from byob_core.findings import Finding
    from byob_core.objects import DeleteBatch, DeleteResult, Entry, ListRequest
    from byob_core.plans import Plan
    from byob_core.provider import Multipart, ProvisionContext, ValidateContext
    from byob_core.signing import KeySigner, SignedRequest, SignRequest
    from byob_core.stores import Store

log = structlog.get_logger("byob.plugins")
_shared: dict[tuple[Any, ...], PluginHost] = {}
_shared_lock = threading.Lock()

GROUP = "byob"
BUILTIN = "file"
#: The name under which the core registers its own hook implementations (connection strings).
CORE = "byob-core"
_ROUTED = (
    "byob_filesystem",
    "byob_provision",
    "byob_sign",
    "byob_signer",
    "byob_multipart",
    "byob_list",
    "byob_garbage_collect",
)


@attrs.frozen(kw_only=True)
class PluginInfo:
    """What `plugins` reports about one plugin."""

    name: str
    version: str | None
    module: str | None
    providers: Sequence[str] = ()
    hooks: Sequence[str] = ()
    error: str | None = None
    disabled: bool = False
    #: Connection-string schemes of each provider, by provider name.
    schemes: Mapping[str, Sequence[str]] = attrs.field(factory=dict)
    #: The deployment-matrix family of each provider, by provider name.
    families: Mapping[str, str] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "module": self.module,
            "providers": list(self.providers),
            "schemes": sorted({s for p in self.providers for s in self.schemes.get(p, ())}),
            "provider_details": [
                {
                    "name": p,
                    "schemes": list(self.schemes.get(p, ())),
                    "family": self.families.get(p),
                }
                for p in self.providers
            ],
            "hooks": list(self.hooks),
            "error": self.error,
            "disabled": self.disabled,
        }


def disabled_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Plugin names listed in ``BYOB_DISABLE_PLUGINS`` (comma-separated)."""
    raw = (os.environ if environ is None else environ).get("BYOB_DISABLE_PLUGINS", "")
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


class PluginHost:
    """Loads plugins and routes each verb to the plugin that owns the store's provider.

    >>> host = PluginHost.load(entry_points=False)
    >>> host.spec("file").can_sign
    False
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        self._specs: dict[str, ProviderSpec] = {}
        self._owners: dict[str, str] = {}
        self._schemes: dict[str, str] = {}
        self._fs_cache: dict[tuple[Any, ...], AbstractFileSystem] = {}

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        *,
        entry_points: bool = True,
        disabled: Iterable[str] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> PluginHost:
        """Build a host: the built-in file provider, every ``byob`` entry point, and `extra`.

        Each entry point loads on its own: one that fails is reported by name (see
        `infos`) and the rest still work. `disabled` (default: ``BYOB_DISABLE_PLUGINS``)
        names plugins to skip.
        """
        from byob_core.providers import file as file_provider

        host = cls()
        skip = disabled_from_env() if disabled is None else frozenset(disabled)
        candidates: list[tuple[str, Any]] = []
        if BUILTIN in skip:
            host._infos[BUILTIN] = PluginInfo(
                name=BUILTIN, version=_core_version(), module=file_provider.__name__, disabled=True
            )
        else:
            candidates.append((BUILTIN, lambda: file_provider))
        if entry_points:
            for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
                if ep.name in skip:
                    host._infos[ep.name] = PluginInfo(
                        name=ep.name, version=_dist_version(ep), module=ep.value, disabled=True
                    )
                    continue
                candidates.append((ep.name, _loader(ep)))
        for name, obj in (extra or {}).items():
            candidates.append((name, lambda obj=obj: obj))
        from byob_core import uris

        # The core's own connection-string parsers: implementations of the same hooks a
        # plugin implements for its schemes (not listed by `plugins`: they are the core).
        host.pm.register(uris, name=CORE)
        for name, loader in candidates:
            host._load_one(name, loader)
        host._check_pending()
        host._collect_providers()
        return host

    def _check_pending(self) -> None:
        """A plugin with a misspelt hook (``byob_provison``) fails alone, like one that fails
        at import: unregistered, reported by name (`infos`, and a warning on stderr)."""
        for name, plugin in list(self.pm.list_name_plugin()):
            if plugin is None or name == CORE:
                continue
            unknown = sorted(
                caller.name
                for caller in self.pm.get_hookcallers(plugin) or ()
                if not caller.has_spec()
                and any(i.plugin is plugin and not i.optionalhook for i in caller.get_hookimpls())
            )
            if not unknown:
                continue
            message = (
                f"PluginError: implements {', '.join(map(repr, unknown))}, which is no byob hook "
                f"(check the spelling against byob_core.hookspecs, or skip the plugin with "
                f"BYOB_DISABLE_PLUGINS={name})"
            )
            log.warning("plugin_load_failed", plugin=name, error=message)
            self.pm.unregister(plugin)
            self._infos[name] = attrs.evolve(self._infos[name], error=message)

    def _load_one(self, name: str, loader: Any) -> None:
        version = getattr(loader, "version", None)
        module = getattr(loader, "module", None)
        try:
            plugin = loader()
            self.pm.register(plugin, name=name)
        except Exception as exc:  # a broken plugin must not take the others down
            message = f"{type(exc).__name__}: {exc}"
            log.warning("plugin_load_failed", plugin=name, error=message)
            self._infos[name] = PluginInfo(name=name, version=version, module=module, error=message)
            return
        self._infos[name] = PluginInfo(
            name=name,
            version=version or (_core_version() if name == BUILTIN else None),
            module=module or getattr(plugin, "__name__", type(plugin).__name__),
        )

    def _collect_providers(self) -> None:
        for impl in self.pm.hook.byob_providers.get_hookimpls():
            name = self.pm.get_name(impl.plugin) or "?"
            try:
                declared: Any = impl.function()
                specs = list(declared or ())
                bad = [s for s in specs if not isinstance(s, ProviderSpec)]
                if bad:
                    raise TypeError(f"declared {bad[0]!r}, not a ProviderSpec")
            except Exception as exc:
                # Like an import failure: report this plugin by name, keep the others.
                message = f"byob_providers failed: {type(exc).__name__}: {exc}"
                log.warning("plugin_load_failed", plugin=name, error=message)
                self.pm.unregister(impl.plugin)
                self._infos[name] = attrs.evolve(self._infos[name], error=message)
                continue
            for spec in specs:
                other = self._owners.get(spec.name)
                if other is not None:
                    raise PluginError(
                        f"provider {spec.name!r} is claimed by two plugins: {other!r} and {name!r}",
                        hint="uninstall one of them, or disable one with BYOB_DISABLE_PLUGINS",
                    )
                self._owners[spec.name] = name
                self._specs[spec.name] = spec
                for scheme in spec.schemes:
                    self._schemes.setdefault(scheme, spec.name)
        for name, info in list(self._infos.items()):
            plugin = self.pm.get_plugin(name)
            if plugin is None:
                continue
            hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ())
            owned = sorted(p for p, owner in self._owners.items() if owner == name)
            self._infos[name] = attrs.evolve(
                info,
                providers=owned,
                hooks=hooks,
                schemes={p: list(self._specs[p].schemes) for p in owned},
                families={p: self._specs[p].family for p in owned},
            )

    @classmethod
    def shared(cls, *, entry_points: bool = True) -> PluginHost:
        """One host per process for the installed plugins (reloaded when they change).

        What the configuration and connection-string parsing use to reach a plugin's
        schemes, families and `byob_complete_store`. ``entry_points=False`` gives the
        core alone (the built-in schemes and the file provider): no plugin is imported.
        """
        if entry_points:
            found = tuple(sorted((ep.name, ep.value) for ep in metadata.entry_points(group=GROUP)))
        else:
            found = ()
        key = (entry_points, found, disabled_from_env())
        with _shared_lock:
            host = _shared.get(key)
            if host is None:
                host = cls.load(entry_points=entry_points)
                _shared.clear() if len(_shared) > 8 else None
                _shared[key] = host
            return host

    # -- introspection -------------------------------------------------------------------
    def infos(self) -> list[PluginInfo]:
        """Every plugin seen: loaded, failed or disabled."""
        return [self._infos[name] for name in sorted(self._infos)]

    def providers(self) -> dict[str, ProviderSpec]:
        return dict(self._specs)

    def spec(self, provider: str) -> ProviderSpec:
        try:
            return self._specs[provider]
        except KeyError:
            raise self._not_found(provider) from None

    def owner(self, provider: str) -> str:
        try:
            return self._owners[provider]
        except KeyError:
            raise self._not_found(provider) from None

    def _not_found(self, provider: str) -> ProviderNotFoundError:
        failed = [i.name for i in self._infos.values() if i.error]
        disabled = [i.name for i in self._infos.values() if i.disabled]
        hint = f"install the plugin for {provider!r} (for example byob-{provider})"
        if failed:
            hint += f"; plugins that failed to load: {', '.join(failed)}"
        if disabled:
            hint += f"; disabled: {', '.join(disabled)}"
        return ProviderNotFoundError(f"no plugin provides {provider!r} stores", hint=hint)

    # -- routing --------------------------------------------------------------------------
    def _route(self, hook: str, store: Store, **kwargs: Any) -> Any:
        owner = self.owner(store.provider)
        plugin = self.pm.get_plugin(owner)
        kwargs["store"] = store
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin is plugin:
                return impl.function(**{name: kwargs[name] for name in impl.argnames})
        raise UnsupportedError(
            f"the {owner!r} plugin does not implement {hook} for {store.provider!r} stores"
        )

    def implements(self, hook: str, provider: str) -> bool:
        plugin = self.pm.get_plugin(self.owner(provider))
        return any(i.plugin is plugin for i in getattr(self.pm.hook, hook).get_hookimpls())

    def filesystem(self, store: Store) -> AbstractFileSystem:
        """The provider's fsspec filesystem for `store`, built once per store.

        A hierarchical provider's (``ProviderSpec.hierarchical``) is wrapped so that it
        behaves as the core expects of an object store (`byob_core.fallbacks`).
        """
        cache_key = (store, store.credentials.secret_values, store.credentials.access_key)
        fs = self._fs_cache.get(cache_key)
        if fs is None:
            fs = self._route("byob_filesystem", store)
            if self.spec(store.provider).hierarchical:
                from byob_core.fallbacks import object_store_view

                fs = object_store_view(fs, store.fs_path())
            self._fs_cache[cache_key] = fs
        return fs

    # -- stores and connection strings --------------------------------------------------
    def schemes(self) -> dict[str, list[str]]:
        """Every connection-string scheme: the built-in ones and those providers declare,
        each with the providers that declare it."""
        from byob_core import uris

        found: dict[str, list[str]] = {scheme: [] for scheme in uris.SCHEMES}
        for name, spec in sorted(self._specs.items()):
            for scheme in spec.schemes:
                found.setdefault(scheme, []).append(name)
        return found

    def parse_uri(self, uri: str, *, environ: Mapping[str, str], complete: bool = True) -> Store:
        """Parse a connection string through `byob_parse_uri`: the plugins that declare its
        scheme first, then the core's built-in parsers, then the generic form."""
        from byob_core import uris

        scheme = uris.scheme_of(uri)
        declaring = [name for name, spec in self._specs.items() if scheme in spec.schemes]
        owners = {self.pm.get_plugin(self._owners[name]) for name in declaring}
        impls = self.pm.hook.byob_parse_uri.get_hookimpls()
        ordered = [i for i in impls if i.plugin in owners and self.pm.get_name(i.plugin) != CORE]
        ordered += [i for i in impls if self.pm.get_name(i.plugin) == CORE]
        kwargs = {"uri": uri, "scheme": scheme, "environ": environ}
        store: Store | None = None
        for impl in ordered:
            store = cast("Store | None", impl.function(**{k: kwargs[k] for k in impl.argnames}))
            if store is not None:
                break
        if store is None:
            if not declaring:
                known = ", ".join(f"{s}://" for s in self.schemes())
                raise UriError(
                    f"unknown connection-string scheme {scheme!r}",
                    hint=f"use one of {known}, or install the plugin that provides {scheme}://",
                )
            if len(declaring) > 1:
                raise UriError(
                    f"scheme {scheme}:// is declared by several providers ({', '.join(sorted(declaring))}) "
                    "and none of their plugins parses it",
                    hint="disable one of the plugins with BYOB_DISABLE_PLUGINS",
                )
            spec = self._specs[declaring[0]]
            store = uris.parse_generic(
                uri, provider=spec.name, secret_extras=spec.secret_extras, environ=environ
            )
        return self.complete_store(store) if complete else store

    def format_uri(self, store: Store, *, redact: bool = False) -> str:
        """Format `store` through the owner's `byob_format_uri`, the core's, or the generic form."""
        from byob_core import uris

        impls = self.pm.hook.byob_format_uri.get_hookimpls()
        owner = (
            self.pm.get_plugin(self._owners[store.provider])
            if store.provider in self._owners
            else None
        )
        ordered = [i for i in impls if owner is not None and i.plugin is owner]
        ordered += [i for i in impls if self.pm.get_name(i.plugin) == CORE]
        kwargs = {"store": store, "redact": redact}
        for impl in ordered:
            text = impl.function(**{k: kwargs[k] for k in impl.argnames})
            if text is not None:
                return str(text)
        return uris.format_generic(store, redact=redact)

    def complete_store(self, store: Store) -> Store:
        """`store` with its provider's secret extras marked and `byob_complete_store` applied.

        A store of a provider no loaded plugin owns is returned as it is (using it later
        says which plugin is missing).
        """
        spec = self._specs.get(store.provider)
        if spec is None:
            return store
        if spec.secret_extras and tuple(store.secret_extras) != tuple(spec.secret_extras):
            store = attrs.evolve(store, secret_extras=spec.secret_extras)
        if self.implements("byob_complete_store", store.provider):
            completed = self._route("byob_complete_store", store)
            if completed is not None:
                store = completed
            if spec.secret_extras and tuple(store.secret_extras) != tuple(spec.secret_extras):
                store = attrs.evolve(store, secret_extras=spec.secret_extras)
        return store

    def provision(self, store: Store, context: ProvisionContext) -> Plan:
        result: Plan = self._route("byob_provision", store, context=context)
        return result

    def validate(self, store: Store, context: ValidateContext) -> list[Finding]:
        """Findings of the owner's checks, then those of every provider-less (policy) plugin."""
        owner = self.pm.get_plugin(self.owner(store.provider))
        providers = {self.pm.get_plugin(name) for name in set(self._owners.values())}
        impls = self.pm.hook.byob_validate.get_hookimpls()
        chosen = [i for i in impls if i.plugin is owner]
        chosen += [i for i in impls if i.plugin not in providers]
        kwargs = {"store": store, "context": context}
        findings: list[Finding] = []
        for impl in chosen:
            name = self.pm.get_name(impl.plugin) or "?"
            found: Any = impl.function(**{k: kwargs[k] for k in impl.argnames})
            for finding in found or ():
                findings.append(
                    finding if finding.provider else attrs.evolve(finding, provider=name)
                )
        return findings

    def sign(self, store: Store, requests: Sequence[SignRequest]) -> list[SignedRequest]:
        if not self.spec(store.provider).can_sign:
            raise UnsupportedError(
                f"{store.provider!r} stores cannot sign URLs",
                hint="pre-signed URLs need a cloud or S3-compatible store",
            )
        result = list(self._route("byob_sign", store, requests=requests))
        if len(result) != len(requests):
            raise PluginError(
                f"the {self.owner(store.provider)!r} plugin returned {len(result)} signed "
                f"requests for {len(requests)} keys"
            )
        return result

    def signer(self, store: Store, method: str, expires: dt.timedelta) -> KeySigner:
        """A `KeySigner` for `store`: the owner's `byob_signer`, else one over `byob_sign`."""
        if not self.spec(store.provider).can_sign:
            raise UnsupportedError(
                f"{store.provider!r} stores cannot sign URLs",
                hint="pre-signed URLs need a cloud or S3-compatible store",
            )
        prepared: KeySigner | None = None
        if self.implements("byob_signer", store.provider):
            prepared = self._route("byob_signer", store, method=method, expires=expires)
        if prepared is None:
            from byob_core.signing import RequestSigner

            prepared = RequestSigner(lambda requests: self.sign(store, requests), method, expires)
        return prepared

    def multipart(self, store: Store) -> Multipart:
        result: Multipart = self._route("byob_multipart", store)
        return result

    def list(self, store: Store, request: ListRequest) -> Iterable[Entry]:
        """The owner's `byob_list`, else a sorted, streamed walk of its filesystem."""
        if not self.implements("byob_list", store.provider):
            from byob_core.fallbacks import list_entries

            return list_entries(self.filesystem(store), store, request)
        result: Iterable[Entry] = self._route("byob_list", store, request=request)
        return result

    def garbage_collect(self, store: Store, batch: DeleteBatch) -> DeleteResult:
        """The owner's `byob_garbage_collect`, else deletes of the named keys on its filesystem."""
        if not self.implements("byob_garbage_collect", store.provider):
            from byob_core.fallbacks import delete_entries

            return delete_entries(self.filesystem(store), store, batch)
        result: DeleteResult = self._route("byob_garbage_collect", store, batch=batch)
        return result


def _loader(ep: metadata.EntryPoint) -> Any:
    def load() -> Any:
        return ep.load()

    load.version = _dist_version(ep)  # type: ignore[attr-defined]
    load.module = ep.value  # type: ignore[attr-defined]
    return load


def _dist_version(ep: metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return dist.version if dist is not None else None


def _core_version() -> str:
    from byob_core import __version__

    return __version__
