"""A private network namespace for the Ray-cluster tests and benchmark: only a loopback interface.

Ray binds to the machine's network address even when told ``--node-ip-address 127.0.0.1`` (its head,
raylets and workers talk over it). Run in a network namespace of their own, where the only interface
is ``lo``, the cluster and its driver have no other address to use: every connection is loopback.

- :func:`prefix` is the command line that enters a fresh namespace and brings ``lo`` up there
  (``unshare --net``, or ``unshare --net --map-root-user`` unprivileged), or the reason it cannot.
- run as a program, this file brings ``lo`` up and executes the rest of its command line:
  ``unshare --net python tests/netns.py CMD ARGS...`` (``ip link set lo up`` where ``ip`` is
  installed, else the ``SIOCSIFFLAGS`` ioctl, so a machine with only Python needs nothing more).
- :func:`isolated` says whether this process is in such a namespace; :func:`outside_loopback` lists
  the sockets of some processes that are not on loopback; :func:`members` finds the processes left
  in a namespace (a leak check once its cluster is stopped).
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import shutil
import socket
import struct
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

LAUNCHER = Path(__file__).resolve()

#: ioctl requests and the interface flag (linux/sockios.h, linux/if.h).
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1

_ATTEMPTS = (["unshare", "--net"], ["unshare", "--net", "--map-root-user"])


def bring_loopback_up() -> None:
    """``ip link set lo up``, or the same through an ioctl where ``ip`` (iproute2) is not installed."""
    ip = shutil.which("ip") or next((path for path in ("/usr/sbin/ip", "/sbin/ip") if os.access(path, os.X_OK)),
                                    None)
    if ip:
        subprocess.run([ip, "link", "set", "lo", "up"], check=True)
        return
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def isolated() -> bool:
    """This process is in a network namespace whose only address is loopback, and loopback is up."""
    import psutil

    addresses = [entry.address for entries in psutil.net_if_addrs().values() for entry in entries
                 if entry.family in (socket.AF_INET, socket.AF_INET6)]
    if not addresses or not all(_ip(address).is_loopback for address in addresses):
        return False
    try:
        with socket.create_server(("127.0.0.1", 0)) as server:
            socket.create_connection(server.getsockname(), timeout=2).close()
    except OSError:
        return False
    return True


def prefix() -> list[str] | str:
    """The command line that runs ``CMD ...`` (appended) in a fresh network namespace with ``lo`` up;
    or, where no namespace can be made here, the reason (each attempt's error)."""
    tried = []
    for attempt in _ATTEMPTS:
        if not shutil.which(attempt[0]):
            return f"{attempt[0]} (util-linux) is not installed, so no network namespace can be made"
        command = [*attempt, sys.executable, str(LAUNCHER)]
        check = (f"import sys; sys.path.insert(0, {str(LAUNCHER.parent)!r}); import netns; "
                 "sys.exit(0 if netns.isolated() else 3)")
        probe = subprocess.run([*command, sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return command
        tried.append(f"'{' '.join(attempt)}' exit {probe.returncode}: {probe.stderr.strip() or 'no loopback'}")
    return "cannot make a private network namespace: " + "; ".join(tried)


def namespace_of(pid: int | str = "self") -> str:
    """The network namespace a process is in (``net:[INODE]``)."""
    return os.readlink(f"/proc/{pid}/ns/net")


def members(namespace: str) -> list[int]:
    """The processes in a network namespace (those this user may look at)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if namespace_of(entry.name) == namespace:
                    found.append(int(entry.name))
            except OSError:
                continue  # gone, or not ours to look at
    return found


def _ip(text: str):
    """An address, an IPv4-mapped IPv6 one (``::ffff:127.0.0.1``) as the IPv4 address it is."""
    address = ipaddress.ip_address(text.split("%")[0])
    return getattr(address, "ipv4_mapped", None) or address


def _loopback(address) -> bool:
    if not address:
        return True  # no remote end (a listening socket)
    return _ip(address.ip).is_loopback


def _wildcard(address) -> bool:
    return bool(address) and _ip(address.ip).is_unspecified


def outside_loopback(processes: Iterable) -> list[str]:
    """Every inet socket of these processes with an end that is not loopback, described.

    A socket bound to the wildcard address (``0.0.0.0``, ``::``) counts as loopback only in an
    :func:`isolated` namespace, where loopback is the only interface it can be reached through.
    """
    import psutil

    wildcard_ok = isolated()
    problems = []
    for process in processes:
        pid = process.pid
        try:
            connections = process.net_connections(kind="inet")
            name = process.name()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        for connection in connections:
            local_ok = _loopback(connection.laddr) or (wildcard_ok and _wildcard(connection.laddr))
            if not (local_ok and _loopback(connection.raddr)):
                problems.append(f"pid {pid} ({name}): {connection.laddr} -> {connection.raddr or '-'} "
                                f"{connection.status}")
    return problems


def descendants(pids: Iterable[int]) -> list:
    """These processes and all their children, recursively (those alive now), as ``psutil.Process``
    objects: signalling one later never reaches another process that took its PID."""
    import psutil

    found = {}
    for pid in pids:
        try:
            process = psutil.Process(pid)
            for one in [process, *process.children(recursive=True)]:
                found[one.pid] = one
        except psutil.NoSuchProcess:
            continue
    return [found[pid] for pid in sorted(found)]


#: Where the launcher writes the namespace it runs in, when set (for a leak check from outside).
NAMESPACE_FILE = "CHIPFIT_NETNS_FILE"

if __name__ == "__main__":
    bring_loopback_up()
    if os.environ.get(NAMESPACE_FILE):
        Path(os.environ[NAMESPACE_FILE]).write_text(namespace_of())
    os.execvp(sys.argv[1], sys.argv[1:])
