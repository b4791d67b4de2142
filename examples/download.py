"""Download a large file with resume, and upload one, with sockit's client.

    python examples/download.py            # serves a 2 MiB file and fetches it

The local server honours ``Range: bytes=N-``. The first download is cut off
part-way (the client closes the stream after 700 KiB, as a crash would);
``client.download()`` then resumes from the partial file with a Range request
(206, appended), a third call finds the file complete (416), and the file is
uploaded back and checked. It ends with ``download ok: ...``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading

from sockit import HTTPClient
from sockit.server import HTTPServer, Response, ServerRequest, run

BLOB = hashlib.sha256(b"seed").digest() * (2 * 1024 * 1024 // 32)  # 2 MiB


def app(req: ServerRequest) -> Response:
    """GET /blob (with Range), PUT /upload (answers the SHA-256 of what came)."""
    if req.path == "/blob":
        rng = req.headers.get("range", "")
        if rng.startswith("bytes=") and rng.endswith("-") and rng[6:-1].isdigit():
            start = int(rng[6:-1])
            if start >= len(BLOB):
                return Response(416, [("Content-Range", f"bytes */{len(BLOB)}")])
            return Response(206, [("Content-Range", f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}")],
                            BLOB[start:])
        return Response(200, [("Content-Type", "application/octet-stream")], BLOB)
    if req.path == "/upload" and req.method == "PUT":
        return Response(200, [], hashlib.sha256(req.body).hexdigest().encode())
    return Response(404)


def main() -> int:
    server = HTTPServer("127.0.0.1", 0)
    thread = threading.Thread(target=run, args=(server, app), daemon=True)
    thread.start()
    url = server.url + "/blob"
    try:
        with tempfile.TemporaryDirectory() as tmp, HTTPClient() as client:
            path = os.path.join(tmp, "blob.bin")
            with client.stream("GET", url, timeout=10) as r, open(path, "wb") as out:
                for chunk in r.iter_bytes(64 * 1024):
                    out.write(chunk)
                    if out.tell() >= 700 * 1024:
                        break  # "the connection dropped"
            partial = os.path.getsize(path)
            resumed = client.download(url, path, timeout=10)
            again = client.download(url, path, timeout=10)
            with open(path, "rb") as fh:
                whole = fh.read() == BLOB
            digest = client.upload(server.url + "/upload", path, timeout=10).text
    finally:
        server.stop()
        thread.join(10)
        server.close()
    ok = (resumed.status_code == 206 and resumed.resumed and again.status_code == 416
          and whole and digest == hashlib.sha256(BLOB).hexdigest())
    if not ok:
        print(f"download FAILED: {resumed} {again} whole={whole}", file=sys.stderr)
        return 1
    print(f"download ok: {partial} bytes, then resumed +{resumed.written} (206), "
          f"complete (416), uploaded back intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
