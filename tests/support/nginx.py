"""Run a private nginx in the foreground under a temp directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.peers import PeerProcess, free_port, require_program, run_peer


def nginx_config(root: Path, port: int, extra_server: str = "") -> str:
    """A minimal foreground nginx config serving ``root`` on 127.0.0.1:port."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    tmp = root.parent
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
    server {{
        listen 127.0.0.1:{port};
        root {root};
        {extra_server}
    }}
}}
"""


@contextmanager
def run_nginx(tmp_path: Path, extra_server: str = "") -> Iterator[tuple[PeerProcess, Path]]:
    """Start nginx serving ``tmp_path/www``; yields the process and the web root."""
    binary = require_program("nginx")
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_config(root, port, extra_server))
    with run_peer([binary, "-p", str(tmp_path), "-c", str(conf)], port=port) as peer:
        yield peer, root
