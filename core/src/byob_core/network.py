"""Where a store's service listens, and a bounded check that something answers there.

`validate` opens one TCP connection before any SDK call: an unreachable endpoint then
fails within the store's timeout with a finding that says so, instead of after every
check has exhausted its SDK's retries.
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from urllib.parse import urlsplit

import attrs

from byob_core.stores import S3_PROVIDERS, Store


@attrs.frozen
class Address:
    host: str
    port: int
    #: "proxy" when the connection goes through an HTTP(S) proxy from the environment.
    via: str = ""

    def __str__(self) -> str:
        return f"{self.host}:{self.port}" + (" (through the proxy)" if self.via else "")


def address_of(store: Store) -> Address | None:
    """The host and port the store's provider talks to, or None when there is none to check.

    Only the providers byob knows speak HTTP(S) at their endpoint; a plugin's own provider
    (FTP, say) may not, and is left to its plugin's checks.
    """
    if store.provider not in (*S3_PROVIDERS, "gcp", "azure"):
        return None
    if store.endpoint_url:
        parts = urlsplit(store.endpoint_url)
        host, https = parts.hostname or "", parts.scheme == "https"
        try:
            port = parts.port or (443 if https else 80)
        except ValueError:
            return None
    else:
        https = True
        port = 443
        if store.provider == "aws":
            host = f"s3.{store.region}.amazonaws.com" if store.region else "s3.amazonaws.com"
        elif store.provider == "gcp":
            host = "storage.googleapis.com"
        elif store.provider == "azure" and store.account:
            host = f"{store.account}.blob.core.windows.net"
        elif store.provider == "coreweave":
            host = "cwobject.com"
        else:
            return None
    if not host:
        return None
    proxy = _proxy_for(host, https)
    return proxy or Address(host, port)


def _proxy_for(host: str, https: bool) -> Address | None:
    proxies = urllib.request.getproxies()
    url = proxies.get("https" if https else "http")
    if not url or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return Address(parts.hostname, port, via="proxy")


def unreachable(address: Address, timeout: float) -> str | None:
    """Why nothing answers at `address` within `timeout` seconds (name lookup included), or None."""
    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            with socket.create_connection((address.host, address.port), timeout=timeout):
                outcome.append(None)
        except socket.gaierror as exc:
            outcome.append(f"the name {address.host} does not resolve ({exc.strerror or exc})")
        except TimeoutError:
            outcome.append(f"no answer within {timeout:g} s")
        except OSError as exc:
            outcome.append(exc.strerror or type(exc).__name__)

    # getaddrinfo takes no timeout: a thread bounds the whole attempt.
    worker = threading.Thread(target=attempt, name="byob-reach", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        return f"no answer within {timeout:g} s"
    return outcome[0]
