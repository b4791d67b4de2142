"""HTTP authentication with sockit: Basic, Bearer and Digest (RFC 7616) against a local server.

    python examples/auth.py

The server protects ``/basic`` (Basic), ``/token`` (Bearer) and ``/digest``
(Digest, SHA-256, ``qop=auth``), checking Digest answers with the same
sans-I/O helpers the client uses (``sockit.proto.http.auth_challenge``). The
client answers each challenge: Basic and Bearer up front, Digest after the
first 401 and then pre-emptively (nonce count 2, no extra round trip). It
ends with ``auth ok: ...``.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import sys
import threading

from sockit import HTTPClient
from sockit.client import BasicAuth, BearerAuth, DigestAuth
from sockit.proto.http.auth_challenge import (
    DigestAlgorithm,
    digest_ha1,
    digest_response,
    parse_credentials,
)
from sockit.server import HTTPServer, Response, ServerRequest, run

USER, PASSWORD, TOKEN, REALM = "alice", "wonderland", "t0k3n", "examples"


class Protected:
    """The three protected routes; counts the 401s it sends."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(16)
        self.challenges = 0
        self.lock = threading.Lock()

    def deny(self, challenge: str) -> Response:
        with self.lock:
            self.challenges += 1
        return Response(401, [("WWW-Authenticate", challenge)], b"who are you?\n")

    def __call__(self, req: ServerRequest) -> Response:
        given = req.headers.get("authorization", "")
        if req.path == "/basic":
            want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if hmac.compare_digest(given, want):
                return Response(200, [], b"basic ok\n")
            return self.deny(f'Basic realm="{REALM}"')
        if req.path == "/token":
            if hmac.compare_digest(given, f"Bearer {TOKEN}"):
                return Response(200, [], b"bearer ok\n")
            return self.deny(f'Bearer realm="{REALM}"')
        if req.path == "/digest":
            if given.startswith("Digest ") and self.digest_ok(req.method, given):
                return Response(200, [], b"digest ok\n")
            return self.deny(f'Digest realm="{REALM}", qop="auth", algorithm=SHA-256, '
                             f'nonce="{self.nonce}"')
        return Response(404)

    def digest_ok(self, method: str, header: str) -> bool:
        creds = parse_credentials(header)
        p = {k: creds.param(k) or "" for k in ("username", "uri", "nc", "cnonce", "response",
                                               "nonce", "qop")}
        if p["username"] != USER or p["nonce"] != self.nonce:
            return False
        ha1 = digest_ha1(DigestAlgorithm.SHA_256, USER.encode(), REALM.encode(),
                         PASSWORD.encode())
        want = digest_response(DigestAlgorithm.SHA_256, ha1, nonce=self.nonce, method=method,
                               uri=p["uri"], qop=p["qop"] or None, nc=p["nc"],
                               cnonce=p["cnonce"])
        return hmac.compare_digest(want, p["response"])


def main() -> int:
    app = Protected()
    server = HTTPServer("127.0.0.1", 0)
    thread = threading.Thread(target=run, args=(server, app), daemon=True)
    thread.start()
    base = server.url
    try:
        with HTTPClient() as client:
            refused = client.get(base + "/basic", timeout=10).status_code
            basic = client.get(base + "/basic", auth=BasicAuth(USER, PASSWORD), timeout=10)
            bearer = client.get(base + "/token", auth=BearerAuth(TOKEN), timeout=10)
        with HTTPClient(auth=DigestAuth(USER, PASSWORD)) as client:
            first = client.get(base + "/digest", timeout=10)    # 401, answered, 200
            before = app.challenges
            second = client.get(base + "/digest", timeout=10)   # answered up front
            extra = app.challenges - before
    finally:
        server.stop()
        thread.join(10)
        server.close()
    bodies = [r.content for r in (basic, bearer, first, second)]
    if refused != 401 or bodies != [b"basic ok\n", b"bearer ok\n", b"digest ok\n",
                                    b"digest ok\n"] or extra:
        print(f"auth FAILED: {refused} {bodies} extra={extra}", file=sys.stderr)
        return 1
    print("auth ok: basic, bearer and digest accepted; the second digest request "
          "needed no new challenge")
    return 0


if __name__ == "__main__":
    sys.exit(main())
