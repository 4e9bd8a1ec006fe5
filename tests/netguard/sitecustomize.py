"""Network guard for the test run, loaded by every Python process the tests start (kernels, otter, the book build).

When ``CAUSAL_LESSONS_NETLOG`` names a file, any attempt to open a connection to a non-loopback address, or to
resolve a non-local host name, is written to that file and refused. ``tests/conftest.py`` installs the same guard in
the pytest process and fails the run if the file is not empty at the end.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "", None}


def _is_local_host(host: object) -> bool:
    if host in _LOCAL_NAMES:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if isinstance(host, str) and host == socket.gethostname():
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkBlocked(OSError):
    """A connection to the outside world was attempted during the test run."""


def install(log_path: str) -> None:
    """Refuse and record non-local connections and name look-ups in this process."""
    if getattr(socket, "_causal_lessons_guard", False):
        return
    real_connect, real_connect_ex, real_getaddrinfo = (
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)

    def refuse(what: str) -> NetworkBlocked:
        with open(os.environ.get("CAUSAL_LESSONS_NETLOG", log_path), "a", encoding="utf-8") as log:
            log.write(f"pid {os.getpid()}: {what}\n")
        return NetworkBlocked(f"network access is blocked during the tests (nothing may download): {what}")

    def is_remote(sock: socket.socket, address: object) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return False
        host = address[0] if isinstance(address, tuple) else address
        return not _is_local_host(host)

    def connect(self, address):
        if is_remote(self, address):
            raise refuse(f"connect to {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if is_remote(self, address):
            raise refuse(f"connect to {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local_host(host):
            raise refuse(f"name look-up of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    socket._causal_lessons_guard = True


if os.environ.get("CAUSAL_LESSONS_NETLOG"):
    install(os.environ["CAUSAL_LESSONS_NETLOG"])
