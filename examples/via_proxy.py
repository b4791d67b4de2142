"""Reach a server through a SOCKS5 proxy: raw tunnels, UDP and the HTTP client.

    python examples/via_proxy.py                 # runs its own proxy and servers
    python examples/via_proxy.py --proxy socks5h://user:pw@127.0.0.1:1080 --url http://...

Without arguments it starts, on loopback, a small HTTP server, a UDP echo
server and sockit's own SOCKS5 server (with a password), then:

1. opens a raw tunnel with :func:`sockit.net.proxy.connect_via_proxy` and
   speaks HTTP/1.1 over it by hand (bytes the target sent right behind the
   proxy's reply come back as ``initial_data`` and are used, never lost);
2. sends datagrams through a UDP association;
3. fetches with :class:`sockit.HTTPClient` configured with ``proxy=``.

It ends with one line, ``via proxy ok: ...``, and exit status 0.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sockit import HTTPClient, SockitError
from sockit.net.proxy import connect_via_proxy, socks_udp_associate
from sockit.server.socks import SOCKSProxyServer

BODY = b"hello through the tunnel\n"


class Hello(BaseHTTPRequestHandler):
    """Answers every GET with :data:`BODY`."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def udp_echo() -> tuple[socket.socket, int]:
    """A UDP socket on loopback that a thread answers with ``echo:`` + the datagram."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def run() -> None:
        while True:
            try:
                data, peer = sock.recvfrom(2048)
            except OSError:
                return
            sock.sendto(b"echo:" + data, peer)

    threading.Thread(target=run, daemon=True).start()
    return sock, int(sock.getsockname()[1])


def raw_tunnel(proxy: str, host: str, port: int) -> bytes:
    """GET / by hand through a tunnel; returns the response body."""
    tunnel = connect_via_proxy(proxy, host, port, connect_timeout=5, handshake_timeout=5)
    with tunnel.sock as sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = bytearray(tunnel.initial_data)
        while chunk := sock.recv(65536, timeout=5):
            data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    print(f"tunnel to {host}:{port} via {tunnel.proxy.redacted()}: {head.splitlines()[0]!r}")
    return body


def self_test() -> int:
    web = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    web_port = int(web.server_address[1])
    echo, echo_port = udp_echo()
    with SOCKSProxyServer("127.0.0.1", 0, users={"demo": "secret"}) as proxy:
        proxy.start()
        url = f"socks5h://demo:secret@127.0.0.1:{proxy.address[1]}"
        body = raw_tunnel(url, "localhost", web_port)
        with socks_udp_associate(url) as assoc:
            replies = []
            for word in (b"one", b"two", b"three"):
                assoc.sendto(word, ("127.0.0.1", echo_port))
                replies.append(assoc.recvfrom(timeout=5)[0])
        print(f"udp replies: {replies}")
        with HTTPClient(proxy=url, trust_env=False) as client:
            fetched = [client.get(f"http://localhost:{web_port}/", timeout=5).content
                       for _ in range(2)]
        stats = dict(proxy.stats)
    web.shutdown()
    echo.close()
    ok = body == BODY and fetched == [BODY, BODY] and replies == [b"echo:one", b"echo:two",
                                                                    b"echo:three"]
    if not ok:
        print("via proxy FAILED", file=sys.stderr)
        return 1
    print(f"via proxy ok: tunnel, {len(replies)} datagrams, {len(fetched)} client requests "
          f"over {stats['connects'] - 1} pooled tunnel(s)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", help="proxy URL (socks4/4a/5/5h or http)")
    parser.add_argument("--url", help="http:// URL to fetch through the proxy")
    args = parser.parse_args()
    if not args.proxy:
        return self_test()
    try:
        with HTTPClient(proxy=args.proxy, trust_env=False) as client:
            response = client.get(args.url, timeout=30)
    except SockitError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(response.content)
    return 0 if response.status_code < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
