"""A real Ceph RADOS Gateway on 127.0.0.1 for tests: an S3-compatible server that verifies SigV4.

moto checks no signature; RGW refuses a changed signature character, another access
key, a request sent with another method, an expired URL and a body that differs from
its signed Content-MD5. Debian 12 ships Ceph 16.2, whose radosgw cannot run without a
cluster, so this starts the smallest real one in a scratch folder: one monitor, one OSD
on the in-memory ``memstore`` object store, and radosgw with the beast frontend.

>>> with ceph_rgw() as rgw:                     # doctest: +SKIP
...     rgw.endpoint, rgw.access_key            # ('http://127.0.0.1:PORT', 'AKIA…')

Missing Ceph binaries raise: tests must fail, not skip, without their server
(``scripts/setup.sh`` installs them). The runtime never imports this module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs

#: The Debian packages that carry the binaries below.
PACKAGES = ("radosgw", "ceph-mon", "ceph-osd")
BINARIES = (
    "ceph-authtool",
    "monmaptool",
    "ceph-mon",
    "ceph-osd",
    "ceph",
    "radosgw",
    "radosgw-admin",
)
#: Keys of the user the gateway is started with; no real account has them.
ACCESS_KEY = "AKIARGWTEST000000001"
SECRET_KEY = "rgwTestSecret/Key+0123456789abcdefGHIJ"  # noqa: S105
#: A second user, for "signed with another key" tests.
OTHER_ACCESS_KEY = "AKIARGWTEST000000002"
OTHER_SECRET_KEY = "rgwOtherSecret/Key+0123456789abcdefGHIJ"  # noqa: S105
#: RGW answers ``GetBucketLocation`` with this zonegroup name, yet accepts us-east-1.
REGION = "us-east-1"


@attrs.frozen(kw_only=True)
class RgwServer:
    """A running gateway: where it listens and the keys of its users."""

    endpoint: str
    access_key: str = ACCESS_KEY
    secret_key: str = attrs.field(default=SECRET_KEY, repr=False)
    other_access_key: str = OTHER_ACCESS_KEY
    other_secret_key: str = attrs.field(default=OTHER_SECRET_KEY, repr=False)
    region: str = REGION
    directory: Path
    #: Seconds from the first command to the gateway answering HTTP.
    start_seconds: float

    @property
    def host(self) -> str:
        return self.endpoint.split("://", 1)[1]


def missing_binaries() -> list[str]:
    """The Ceph commands this machine lacks (empty when everything is installed)."""
    return [name for name in BINARIES if shutil.which(name) is None]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(root: Path, fsid: str, mon_v1: int, mon_v2: int, rgw_port: int) -> str:
    return f"""\
[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{mon_v2},v1:127.0.0.1:{mon_v1}]
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
mon warn on insecure global id reclaim allowed = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
ms bind ipv4 = true
ms bind ipv6 = false
run dir = {root}/run
log file = {root}/log/$name.log
admin socket = {root}/run/$name.asok
keyring = {root}/keyring
[mon]
mon data = {root}/mon/$cluster-$id
[osd]
osd data = {root}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw data = {root}/rgw
rgw lifecycle work time = 00:00-23:59
# auth none cannot give radosgw's default "secure" mode: it would loop on
# get_initial_auth_request returned -13.
ms mon client mode = crc
"""


class _Cluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = str(root / "ceph.conf")
        self.processes: list[subprocess.Popen[bytes]] = []

    def run(self, *argv: str, timeout: float = 60) -> str:
        done = subprocess.run(
            [*argv, "-c", self.conf] if argv[0] not in ("ceph-authtool", "monmaptool") else argv,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-800:]}"
            )
        return done.stdout.decode()

    def daemon(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        log = open(self.root / "log" / f"{name}.out", "wb")  # noqa: SIM115 - kept by the process
        process = subprocess.Popen(
            [*argv, "-c", self.conf, "-f"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            preexec_fn=_die_with_parent,
        )
        log.close()
        self.processes.append(process)
        return process

    def stop(self) -> None:
        # radosgw first, then the OSD, then the monitor: the reverse of the start.
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log_tail(self, name: str) -> str:
        path = self.root / "log" / f"{name}.out"
        return path.read_text(errors="replace")[-1500:] if path.exists() else ""


def _die_with_parent() -> None:
    """In the child: ask Linux to stop this daemon when the test process dies.

    A test run killed by a timeout or ^C never reaches `_Cluster.stop`; without this its
    monitor, OSD and gateway would live on, holding memory and ports.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        # SIGKILL: radosgw on SIGTERM waits for a monitor that died with us.
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _wait(what: str, ready: object, deadline: float, process: subprocess.Popen[bytes]) -> None:
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        if ready():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not ready in time")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a local test server
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@contextlib.contextmanager
def ceph_rgw(
    *, timeout: float = 120.0, directory: str | os.PathLike[str] | None = None
) -> Iterator[RgwServer]:
    """Start a one-OSD Ceph cluster and radosgw on free ports; yield it; stop it by its PIDs."""
    missing = missing_binaries()
    if missing:
        raise RuntimeError(
            f"Ceph RGW needs {', '.join(missing)}: apt-get install -y {' '.join(PACKAGES)} "
            "(bash scripts/setup.sh does this)"
        )
    started = time.monotonic()
    deadline = started + timeout
    with contextlib.ExitStack() as stack:
        if directory is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="byob-rgw-")))
        else:
            root = Path(directory)
        for sub in ("run", "log", "mon", "osd/ceph-0", "rgw"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        fsid = str(uuid.uuid4())
        mon_v1, mon_v2, rgw_port = _free_port(), _free_port(), _free_port()
        (root / "ceph.conf").write_text(_config(root, fsid, mon_v1, mon_v2, rgw_port))
        cluster = _Cluster(root)
        stack.callback(cluster.stop)
        keyring = str(root / "keyring")
        cluster.run(
            "ceph-authtool",
            "--create-keyring",
            keyring,
            "--gen-key",
            "-n",
            "mon.",
            "--cap",
            "mon",
            "allow *",
        )
        cluster.run(
            "ceph-authtool",
            keyring,
            "--gen-key",
            "-n",
            "client.admin",
            "--cap",
            "mon",
            "allow *",
            "--cap",
            "osd",
            "allow *",
            "--cap",
            "mgr",
            "allow *",
        )
        monmap = str(root / "monmap")
        cluster.run(
            "monmaptool",
            "--create",
            "--fsid",
            fsid,
            "--addv",
            "a",
            f"[v2:127.0.0.1:{mon_v2},v1:127.0.0.1:{mon_v1}]",
            monmap,
        )
        cluster.run("ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap, "--keyring", keyring)
        mon = cluster.daemon("mon", "ceph-mon", "-i", "a")
        osd_uuid = str(uuid.uuid4())
        # The monitor may need a moment before it takes commands; `ceph` retries itself.
        osd_id = cluster.run("ceph", "--connect-timeout", "30", "osd", "new", osd_uuid).strip()
        cluster.run("ceph-osd", "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid)
        osd = cluster.daemon("osd", "ceph-osd", "-i", osd_id)

        def osd_up() -> bool:
            return f"osd.{osd_id} up" in cluster.run("ceph", "osd", "dump")

        try:
            _wait("ceph-mon", lambda: mon.poll() is None, deadline, mon)
            _wait("ceph-osd", osd_up, deadline, osd)
            rgw = cluster.daemon("rgw", "radosgw", "-n", "client.rgw.a")
            endpoint = f"http://127.0.0.1:{rgw_port}"
            _wait("radosgw", lambda: _answers(endpoint + "/"), deadline, rgw)
        except RuntimeError as exc:
            logs = "\n".join(f"--- {n}\n{cluster.log_tail(n)}" for n in ("mon", "osd", "rgw"))
            raise RuntimeError(f"Ceph RGW did not start: {exc}\n{logs}") from None
        for uid, access, secret in (
            ("byob", ACCESS_KEY, SECRET_KEY),
            ("other", OTHER_ACCESS_KEY, OTHER_SECRET_KEY),
        ):
            cluster.run(
                "radosgw-admin",
                "-n",
                "client.admin",
                "user",
                "create",
                "--uid",
                uid,
                "--display-name",
                uid,
                "--access-key",
                access,
                "--secret-key",
                secret,
            )
        yield RgwServer(endpoint=endpoint, directory=root, start_seconds=time.monotonic() - started)
