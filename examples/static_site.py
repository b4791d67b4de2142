"""A static site with sockit: mounts, index pages, ranges, conditional requests, gzip variants.

    python examples/static_site.py             # builds a tiny site in a temp dir and checks it

The site has ``/`` (``index.html``), ``/assets/`` mounted from a second
directory with a pre-compressed ``app.js.gz`` beside ``app.js``, and a
1 MiB ``/video.bin``. The client then fetches the index, asks for the
script with ``Accept-Encoding: gzip`` (the ``.gz`` file is sent as is),
resumes the video with a ``Range``, and revalidates with ``If-None-Match``
(``304``). It ends with ``static site ok: ...``.
"""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
import threading

from sockit import HTTPClient
from sockit.server import HTTPServer, Mounts, StaticFiles, run

SCRIPT = b"console.log('hello from sockit');\n" * 40
VIDEO = bytes(range(256)) * 4096  # 1 MiB


def build(root: str) -> tuple[str, str]:
    """Write the two directories; return (site, assets)."""
    site, assets = os.path.join(root, "site"), os.path.join(root, "assets")
    os.makedirs(site)
    os.makedirs(assets)
    with open(os.path.join(site, "index.html"), "wb") as fh:
        fh.write(b"<!doctype html><title>sockit</title><h1>It works</h1>\n")
    with open(os.path.join(site, "video.bin"), "wb") as fh:
        fh.write(VIDEO)
    with open(os.path.join(assets, "app.js"), "wb") as fh:
        fh.write(SCRIPT)
    with open(os.path.join(assets, "app.js.gz"), "wb") as fh:  # newer than app.js: served
        fh.write(gzip.compress(SCRIPT))
    return site, assets


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        site, assets = build(tmp)
        app = Mounts({"/assets": StaticFiles(assets, max_age=3600)}, fallback=StaticFiles(site))
        server = HTTPServer("127.0.0.1", 0)
        thread = threading.Thread(target=run, args=(server, app), daemon=True)
        thread.start()
        try:
            with HTTPClient() as client:
                index = client.get(server.url + "/", timeout=10)
                script = client.get(server.url + "/assets/app.js", timeout=10,
                                    headers={"Accept-Encoding": "gzip"}, decode_content=False)
                part = client.get(server.url + "/video.bin", timeout=10,
                                  headers={"Range": "bytes=524288-"})
                etag = index.headers["etag"]
                again = client.get(server.url + "/", timeout=10, headers={"If-None-Match": etag})
        finally:
            server.stop()
            thread.join(10)
            server.close()
    checks = [
        index.status_code == 200 and b"It works" in index.content,
        script.headers.get("content-encoding") == "gzip"
        and gzip.decompress(script.content) == SCRIPT,
        "max-age=3600" in (script.headers.get("cache-control") or ""),
        part.status_code == 206 and part.content == VIDEO[524288:],
        again.status_code == 304 and again.content == b"",
    ]
    if not all(checks):
        print(f"static site FAILED: {checks}", file=sys.stderr)
        return 1
    print(f"static site ok: index, gzip variant ({len(script.content)} of {len(SCRIPT)} bytes), "
          f"range 206 ({len(part.content)} bytes), revalidated 304")
    return 0


if __name__ == "__main__":
    sys.exit(main())
