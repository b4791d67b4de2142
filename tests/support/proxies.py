"""Real proxy servers for the interop tests: microsocks, Dante, tinyproxy, ``ssh -D``.

Each is a context manager yielding a :class:`~tests.support.peers.PeerProcess`
listening on a fresh loopback port; the process group is killed on exit. The
start recipes follow ``../shared/PEERS.md``.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support.peers import PeerProcess, free_port, require_program, run_peer

__all__ = [
    "DANTE_USER",
    "run_dante",
    "run_microsocks",
    "run_ssh_socks",
    "run_tinyproxy",
]

#: the system user Dante checks passwords against (created for the test, removed after)
DANTE_USER = "sockitproxy"


@contextmanager
def run_microsocks(user: str | None = None, password: str | None = None) -> Iterator[PeerProcess]:
    """microsocks (SOCKS5 only); with ``user``/``password`` it requires RFC 1929 auth."""
    binary = require_program("microsocks")
    port = free_port()
    argv = [binary, "-i", "127.0.0.1", "-p", str(port)]
    if user is not None:
        argv += ["-u", user, "-P", password or ""]
    with run_peer(argv, port=port) as peer:
        yield peer


_DANTE_CONF = """\
logoutput: stderr
internal: 127.0.0.1 port = {port}
external: 127.0.0.1
clientmethod: none
socksmethod: {method}
user.privileged: root
user.unprivileged: nobody
client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}
socks pass {{
    from: 127.0.0.0/8 to: 0.0.0.0/0
    command: bind connect udpassociate bindreply udpreply
    socksmethod: {method}
}}
"""


@contextmanager
def _system_user(name: str, password: str) -> Iterator[None]:
    """A throw-away system user with ``password`` (Dante checks system passwords)."""
    useradd = require_program("useradd")
    userdel = require_program("userdel")
    chpasswd = require_program("chpasswd")
    with suppress(KeyError):
        pwd.getpwnam(name)
        subprocess.run([userdel, name], check=False, capture_output=True)
    subprocess.run([useradd, "-M", "-s", "/usr/sbin/nologin", name], check=True,
                   capture_output=True)
    try:
        subprocess.run([chpasswd], input=f"{name}:{password}\n".encode(), check=True,
                       capture_output=True)
        yield
    finally:
        subprocess.run([userdel, name], check=False, capture_output=True)


@contextmanager
def run_dante(tmp_path: Path, *, password: str | None = None) -> Iterator[PeerProcess]:
    """Dante (SOCKS4, SOCKS5, UDP ASSOCIATE); with ``password``, username auth as DANTE_USER."""
    binary = require_program("danted")
    port = free_port()
    conf = tmp_path / "danted.conf"
    conf.write_text(_DANTE_CONF.format(port=port,
                                       method="username" if password is not None else "none"))
    argv = [binary, "-f", str(conf), "-N", "1", "-p", str(tmp_path / "danted.pid")]
    if password is None:
        with run_peer(argv, port=port) as peer:
            yield peer
        return
    with _system_user(DANTE_USER, password), run_peer(argv, port=port) as peer:
        yield peer


@contextmanager
def run_tinyproxy(tmp_path: Path, *, user: str | None = None,
                  password: str | None = None) -> Iterator[PeerProcess]:
    """tinyproxy (HTTP forward proxy and CONNECT); ``user``/``password`` turn on BasicAuth."""
    binary = require_program("tinyproxy")
    port = free_port()
    lines = [f"Port {port}", "Listen 127.0.0.1", "Timeout 60", "MaxClients 100",
             "Allow 127.0.0.1", f"PidFile \"{tmp_path / 'tinyproxy.pid'}\""]
    if os.geteuid() == 0:
        lines += ["User nobody", "Group nogroup"]
    if user is not None:
        lines.append(f"BasicAuth {user} {password or ''}")
    conf = tmp_path / "tinyproxy.conf"
    conf.write_text("\n".join(lines) + "\n")
    with run_peer([binary, "-d", "-c", str(conf)], port=port) as peer:
        yield peer


@contextmanager
def run_ssh_socks(tmp_path: Path) -> Iterator[PeerProcess]:
    """An sshd on loopback plus ``ssh -N -D``: the SOCKS4/4a/5 server of OpenSSH."""
    sshd = require_program("sshd")
    ssh = require_program("ssh")
    keygen = require_program("ssh-keygen")
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    host_key = tmp_path / "host_ed25519"
    client_key = tmp_path / "client_ed25519"
    for key in (host_key, client_key):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = tmp_path / "authorized_keys"
    authorized.write_bytes(client_key.with_suffix(".pub").read_bytes())
    authorized.chmod(0o600)
    sshd_port = free_port()
    conf = tmp_path / "sshd_config"
    conf.write_text(
        "\n".join([
            f"ListenAddress 127.0.0.1:{sshd_port}",
            f"HostKey {host_key}",
            f"AuthorizedKeysFile {authorized}",
            f"PidFile {tmp_path / 'sshd.pid'}",
            "StrictModes no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "AllowTcpForwarding yes",
            "PermitRootLogin yes",
        ]) + "\n"
    )
    user = pwd.getpwuid(os.geteuid()).pw_name
    socks_port = free_port()
    with run_peer([sshd, "-D", "-e", "-f", str(conf)], port=sshd_port):
        argv = [
            ssh, "-N", "-D", f"127.0.0.1:{socks_port}", "-p", str(sshd_port),
            "-i", str(client_key), "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={tmp_path / 'known_hosts'}",
            "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes",
            f"{user}@127.0.0.1",
        ]
        with run_peer(argv, port=socks_port) as peer:
            yield peer
