"""Static files against curl: Range, multipart/byteranges, conditionals, resume, compression.

The server is ``python -m sockit serve`` as a user runs it (with a ``--static``
mount); curl is the client nobody here wrote.
"""

from __future__ import annotations

import email.parser
import gzip
import os
import subprocess
import sys
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import cast

import pytest

from sockit.proto.http import format_http_date
from tests.support.peers import free_port, require_program, run_peer

pytestmark = pytest.mark.interop

DATA = bytes((i * 31 + 7) % 256 for i in range(200_000))
JS = b"function hello() { return 'hello, world'; }\n" * 200
ASSET = b"an asset from the second mount\n"
MTIME = 1_700_000_000

try:
    import brotli

    BR: bytes | None = brotli.compress(JS)
except ImportError:  # the test-only brotli module is optional: then gzip is expected
    BR = None


@pytest.fixture(scope="module")
def curl() -> str:
    return require_program("curl")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("static_curl")
    root = tmp / "site"
    root.mkdir()
    (root / "data.bin").write_bytes(DATA)
    (root / "app.js").write_bytes(JS)
    (root / "app.js.gz").write_bytes(gzip.compress(JS))
    if BR is not None:
        (root / "app.js.br").write_bytes(BR)
    assets = tmp / "assets"
    assets.mkdir()
    (assets / "asset.txt").write_bytes(ASSET)
    (tmp / "secret.txt").write_bytes(b"outside\n")
    (root / "link_out").symlink_to(tmp / "secret.txt")
    for path in [*root.iterdir(), *assets.iterdir()]:
        os.utime(path, (MTIME, MTIME), follow_symlinks=False)
    port = free_port()
    argv = [sys.executable, "-m", "sockit", "serve", str(root), "--port", str(port),
            "--static", f"/assets={assets}"]  # fmt: skip
    with run_peer(argv, port=port):
        yield f"http://127.0.0.1:{port}"


def run(curl: str, *args: str) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of one curl transfer (the last response's headers)."""
    proc = subprocess.run(
        [curl, "-sS", "--max-time", "20", "-D", "-", *args],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    out = proc.stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def parts_of(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    out = []
    for part in cast(list[Message], message.get_payload()):
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        out.append((str(part["Content-Range"]), payload))
    return out


def test_single_range(curl: str, base: str) -> None:
    status, headers, body = run(curl, "-r", "0-99", f"{base}/data.bin")
    assert (status, body) == (206, DATA[:100])
    assert headers["content-range"] == f"bytes 0-99/{len(DATA)}"
    status, headers, body = run(curl, "-r", "-500", f"{base}/data.bin")
    assert (status, body) == (206, DATA[-500:])
    status, _, body = run(curl, "-r", "150000-", f"{base}/data.bin")
    assert (status, body) == (206, DATA[150_000:])


def test_multiple_ranges_are_multipart(curl: str, base: str) -> None:
    status, headers, body = run(curl, "-r", "0-9,20-29", f"{base}/data.bin")
    assert status == 206
    assert headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert int(headers["content-length"]) == len(body)
    assert parts_of(headers["content-type"], body) == [
        (f"bytes 0-9/{len(DATA)}", DATA[0:10]),
        (f"bytes 20-29/{len(DATA)}", DATA[20:30]),
    ]


def test_unsatisfiable_range(curl: str, base: str) -> None:
    status, headers, _ = run(curl, "-r", "900000-", f"{base}/data.bin")
    assert status == 416
    assert headers["content-range"] == f"bytes */{len(DATA)}"


def test_if_modified_since(curl: str, base: str, tmp_path: Path) -> None:
    status, _, body = run(curl, "-z", format_http_date(MTIME), f"{base}/data.bin")
    assert (status, body) == (304, b"")
    status, _, body = run(curl, "-z", format_http_date(MTIME - 60), f"{base}/data.bin")
    assert (status, body) == (200, DATA)
    local = tmp_path / "local.bin"  # -z FILE: curl sends the file's mtime
    local.write_bytes(b"old copy")
    os.utime(local, (MTIME, MTIME))
    assert run(curl, "-z", str(local), f"{base}/data.bin")[0] == 304
    # "-z -date" is If-Unmodified-Since: the file changed after it, so 412
    assert run(curl, "-z", "-" + format_http_date(MTIME - 60), f"{base}/data.bin")[0] == 412


def test_etag_save_and_compare(curl: str, base: str, tmp_path: Path) -> None:
    saved = tmp_path / "etag.txt"
    status, headers, _ = run(curl, "--etag-save", str(saved), f"{base}/data.bin")
    assert status == 200
    assert saved.read_text().strip() == headers["etag"]
    status, _, body = run(curl, "--etag-compare", str(saved), f"{base}/data.bin")
    assert (status, body) == (304, b"")


def test_resume_with_if_range(curl: str, base: str, tmp_path: Path) -> None:
    out = tmp_path / "partial.bin"
    out.write_bytes(DATA[:12_345])
    proc = subprocess.run(
        [curl, "-sS", "--max-time", "20", "-C", "-", "-o", str(out), f"{base}/data.bin"],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == DATA
    # a resume guarded by a stale validator gets the whole file back
    status, _, body = run(curl, "-r", "100-", "-H", 'If-Range: "stale"', f"{base}/data.bin")
    assert (status, body) == (200, DATA)


def test_compressed(curl: str, base: str) -> None:
    status, headers, body = run(curl, "--compressed", f"{base}/app.js")
    assert (status, body) == (200, JS)  # curl decoded it
    assert headers["content-encoding"] == ("br" if BR is not None else "gzip")
    assert headers["vary"] == "Accept-Encoding"
    status, headers, body = run(curl, "-H", "Accept-Encoding: gzip", f"{base}/app.js")
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == JS
    status, headers, body = run(curl, f"{base}/app.js")
    assert (status, body) == (200, JS)
    assert "content-encoding" not in headers
    status, headers, body = run(curl, "--compressed", "-r", "0-9", f"{base}/app.js")
    assert (status, body) == (206, JS[:10])  # a range is always of the identity file
    assert "content-encoding" not in headers


def test_ranges_over_h2c(curl: str, base: str) -> None:
    status, headers, body = run(
        curl, "--http2-prior-knowledge", "-r", "100-199", f"{base}/data.bin"
    )
    assert (status, body) == (206, DATA[100:200])
    status, headers, body = run(
        curl, "--http2-prior-knowledge", "-r", "0-9,20-29", f"{base}/data.bin"
    )
    assert status == 206
    assert [p[1] for p in parts_of(headers["content-type"], body)] == [DATA[0:10], DATA[20:30]]


def test_mount_and_escapes(curl: str, base: str) -> None:
    status, _, body = run(curl, "-r", "0-5", f"{base}/assets/asset.txt")
    assert (status, body) == (206, ASSET[:6])
    for attack in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                   "/assets/%2e%2e/secret.txt", "/link_out", "/..%2fsecret.txt"):  # fmt: skip
        status, _, body = run(curl, "--path-as-is", base + attack)
        assert status == 404, attack
        assert b"outside" not in body
