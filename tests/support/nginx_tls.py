"""A private nginx with one TLS port per certificate (``listen ... ssl http2``).

``tests/support/nginx.py`` serves one plain-HTTP server block; TLS tests need
several server blocks (a good certificate, a wrong-host one...) each on its
own port, so this module writes its own config. Every port negotiates h2 or
http/1.1 by ALPN, answers ``/proto`` with what nginx saw
(``"<server_protocol> <ssl_protocol> <ssl_alpn_protocol>"``) and ``/client``
with the client certificate's check and subject (``"SUCCESS CN=..."``), and
names its connection in an ``X-Conn`` header (nginx's ``$connection`` serial),
which shows keep-alive reuse.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.peers import PeerProcess, free_port, require_program, run_peer
from tests.support.tls_certs import CertPair

__all__ = ["NginxTLS", "nginx_tls_config", "run_nginx_tls"]

_SERVER = """
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        root {root};
        keepalive_requests 10000;
        add_header X-Conn $connection always;
        location = /proto {{
            default_type text/plain;
            return 200 "$server_protocol $ssl_protocol $ssl_alpn_protocol";
        }}
        location = /client {{
            default_type text/plain;
            return 200 "$ssl_client_verify $ssl_client_s_dn";
        }}
        {extra}
    }}
"""


def nginx_tls_config(tmp: Path, root: Path, servers: Mapping[int, tuple[CertPair, str]]) -> str:
    """A foreground nginx config: one TLS server block per port (certificate, directives)."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    blocks = "".join(
        _SERVER.format(port=port, cert=pair.cert, key=pair.key, root=root, extra=extra)
        for port, (pair, extra) in servers.items()
    )
    return f"""{user}daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type application/octet-stream;
{blocks}}}
"""


@dataclass
class NginxTLS:
    """The running nginx, its web root and the TLS port of each certificate name."""

    peer: PeerProcess
    root: Path
    ports: dict[str, int]


@contextmanager
def run_nginx_tls(tmp_path: Path, certs: Mapping[str, CertPair],
                  extra: Mapping[str, str] | None = None) -> Iterator[NginxTLS]:
    """Start nginx with a TLS port per entry of ``certs`` (name -> certificate).

    ``extra`` adds nginx directives to the server block of some names (e.g.
    ``ssl_verify_client on;`` for mutual TLS).
    """
    binary = require_program("nginx")
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    ports = {name: free_port() for name in certs}
    more = extra or {}
    servers = {ports[name]: (pair, more.get(name, "")) for name, pair in certs.items()}
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_tls_config(tmp_path, root, servers))
    first = next(iter(ports.values()))
    with run_peer([binary, "-p", str(tmp_path), "-c", str(conf)], port=first) as peer:
        yield NginxTLS(peer, root, ports)
