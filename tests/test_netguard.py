"""The network guard itself: a connection attempt is refused, recorded, and fails the run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import sitecustomize as guard
from conftest import NETLOG


@pytest.fixture
def private_log(tmp_path, monkeypatch):
    log = tmp_path / "net.log"
    monkeypatch.setenv("CAUSAL_LESSONS_NETLOG", str(log))
    return log


def test_remote_connect_is_refused_and_recorded(private_log):
    with pytest.raises(guard.NetworkBlocked, match="network access is blocked"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    assert "192.0.2.1" in private_log.read_text()


def test_name_lookup_is_refused(private_log):
    with pytest.raises(OSError):
        socket.getaddrinfo("pypi.org", 443)
    assert "pypi.org" in private_log.read_text()


def test_loopback_is_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=1)
    client.close()
    server.close()


def test_subprocesses_are_guarded(private_log):
    code = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\nexcept OSError as e:\n    print(type(e).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    assert out.stdout.strip() == "NetworkBlocked"
    assert "192.0.2.1" in private_log.read_text()


def test_session_log_is_clean_so_far():
    assert NETLOG.read_text() == ""
