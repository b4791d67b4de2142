"""Unix-domain sockets: echo, credentials, abstract names, stale files, fd passing."""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import stat
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit.errors import AddressError, ConnectError, LimitExceeded, LocalProtocolError, Timeout
from sockit.limits import SocketLimits
from sockit.net.unix import (
    SUN_PATH_SIZE,
    PeerCredentials,
    UnixSocket,
    connect_unix,
    listen_unix,
    socketpair,
    unix_address,
)

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def pair() -> Iterator[tuple[UnixSocket, UnixSocket]]:
    a, b = socketpair(timeout=5)
    with a, b:
        yield a, b


def _echo_once(lst: UnixSocket) -> threading.Thread:
    def run() -> None:
        with lst.accept(timeout=10) as conn:
            while data := conn.recv(65536, timeout=10):
                conn.sendall(data)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_echo_over_path(tmp_path: Path) -> None:
    path = tmp_path / "echo.sock"
    with listen_unix(path) as lst:
        assert stat.S_ISSOCK(path.stat().st_mode)
        t = _echo_once(lst)
        payload = os.urandom(200_000)
        with connect_unix(path, timeout=5) as c:
            c.sendall(payload, timeout=10)
            assert c.recv_exactly(len(payload), timeout=10) == payload
        t.join(5)
    assert not path.exists()  # listen_unix's file is removed on close


@linux_only
def test_abstract_namespace() -> None:
    name = f"@sockit-test-{uuid.uuid4().hex}"
    with listen_unix(name) as lst:
        assert lst.getsockname() == b"\0" + name[1:].encode()
        t = _echo_once(lst)
        with connect_unix(name, timeout=5) as c:
            c.sendall(b"abstract")
            assert c.recv_exactly(8, timeout=5) == b"abstract"
        t.join(5)
    assert unix_address(name) == b"\0" + name[1:].encode()


@linux_only
def test_peer_credentials(tmp_path: Path, pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    me = PeerCredentials(os.getpid(), os.getuid(), os.getgid())
    assert a.peer_credentials() == me
    assert b.peer_credentials() == me
    path = tmp_path / "c.sock"
    with listen_unix(path) as lst, connect_unix(path, timeout=5) as c, lst.accept(timeout=5) as s:
        creds = s.peer_credentials()
        assert (creds.pid, creds.uid, creds.gid) == (os.getpid(), os.getuid(), os.getgid())
        assert c.peer_credentials().pid == os.getpid()


def test_stale_socket_file_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays behind, nobody listens
    assert path.exists()
    with listen_unix(path) as lst:
        t = _echo_once(lst)
        with connect_unix(path, timeout=5) as c:
            c.sendall(b"fresh")
            assert c.recv_exactly(5, timeout=5) == b"fresh"
        t.join(5)


def test_live_socket_path_is_in_use(tmp_path: Path) -> None:
    path = tmp_path / "live.sock"
    with listen_unix(path):
        with pytest.raises(AddressError) as info:
            listen_unix(path)
        assert info.value.errno == errno.EADDRINUSE
        assert "listening" in str(info.value)
        assert path.exists()
    regular = tmp_path / "plain"
    regular.write_text("x")
    with pytest.raises(AddressError) as info2:
        listen_unix(regular)
    assert info2.value.errno == errno.EADDRINUSE
    assert regular.read_text() == "x"


def test_path_too_long(tmp_path: Path) -> None:
    longest = "/tmp/" + "a" * (SUN_PATH_SIZE - 1 - 5)
    assert len(unix_address(longest)) == SUN_PATH_SIZE - 1
    too_long = longest + "b"
    with pytest.raises(AddressError) as info:
        listen_unix(too_long)
    assert info.value.errno == errno.ENAMETOOLONG
    assert "108" in str(info.value) or "107" in str(info.value)
    with pytest.raises(AddressError):
        connect_unix(tmp_path / ("c" * 120), timeout=1)
    with pytest.raises(AddressError):
        unix_address("@" + "n" * SUN_PATH_SIZE)
    with pytest.raises(AddressError):
        unix_address("bad\0path")
    with pytest.raises(AddressError):
        unix_address("")
    with pytest.raises(AddressError):
        unix_address(42)  # type: ignore[arg-type]


def test_connect_missing_path_is_connect_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectError) as info:
        connect_unix(tmp_path / "nobody.sock", timeout=1)
    assert info.value.errno == errno.ENOENT


def test_listen_mode(tmp_path: Path) -> None:
    path = tmp_path / "mode.sock"
    with listen_unix(path, mode=0o600):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_fd_passing_many(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    r, w = os.pipe()
    fds = [r] * 253
    try:
        assert a.send_fds(b"fds!", fds) == 4
        data, got = b.recv_fds(16, 253)
        try:
            assert data == b"fds!"
            assert len(got) == 253 and len(set(got)) == 253
            assert all(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC for fd in got)
            os.write(w, b"through")
            assert os.read(got[-1], 7) == b"through"  # same pipe
        finally:
            for fd in got:
                os.close(fd)
    finally:
        os.close(r)
        os.close(w)


def test_too_many_fds_refused(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    r, w = os.pipe()
    try:
        with pytest.raises(LimitExceeded) as info:
            a.send_fds(b"x", [r] * 254)
        assert info.value.limit == "max_passed_fds" and info.value.value == 253
        with pytest.raises(LimitExceeded):
            b.recv_fds(10, 254)
        with pytest.raises(LocalProtocolError):
            a.send_fds(b"", [r])
        with pytest.raises(LocalProtocolError):
            a.send_fds(b"x", [-1])
        small = UnixSocket(
            sock=socket.socket(socket.AF_UNIX), limits=SocketLimits(max_passed_fds=2)
        )
        with small, pytest.raises(LimitExceeded):
            small.send_fds(b"x", [r, r, r])
        assert not b.is_readable()  # nothing was sent
    finally:
        os.close(r)
        os.close(w)


def test_truncated_fds_are_closed_not_leaked(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    r, w = os.pipe()
    try:
        before = _open_fds()
        a.send_fds(b"many", [r] * 10)
        with pytest.raises(LimitExceeded) as info:
            b.recv_fds(16, 3)
        assert info.value.value == 3
        assert _open_fds() == before
        a.send_fds(b"again", [w])
        data, got = b.recv_fds(16, 1)
        assert data == b"again" and len(got) == 1
        os.close(got[0])
        a.send_fds(b"none", [r])
        with pytest.raises(LimitExceeded):
            b.recv_fds(16, 0)
        assert _open_fds() == before
    finally:
        os.close(r)
        os.close(w)


def test_recv_fds_timeout_and_plain_data(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    with pytest.raises(Timeout):
        b.recv_fds(10, 2, timeout=0.05)
    a.sendall(b"plain")
    assert b.recv_fds(10, 2) == (b"plain", [])
    a.close()
    assert b.recv_fds(10, 2) == (b"", [])


def test_wrong_family_is_refused() -> None:
    with socket.socket(socket.AF_INET) as s, pytest.raises(LocalProtocolError):
        UnixSocket(sock=s)


def test_close_does_not_unlink_a_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / "r.sock"
    lst = listen_unix(path)
    path.unlink()
    other = socket.socket(socket.AF_UNIX)
    other.bind(str(path))
    lst.close()
    assert path.exists()  # not ours any more
    other.close()


def test_accepted_and_duplicated_sockets_keep_the_limits(tmp_path: Path) -> None:
    limits = SocketLimits(max_passed_fds=1)
    path = tmp_path / "lim.sock"
    with listen_unix(path, limits=limits) as lst, connect_unix(path, timeout=5) as c:
        with lst.accept(timeout=5) as conn, conn.dup() as copy:
            assert conn.limits is limits and copy.limits is limits
            with pytest.raises(LimitExceeded):
                conn.send_fds(b"x", [0, 1])
        assert c.limits == SocketLimits()
