"""Run every ``fuzz/fuzz_*.py`` harness briefly (CI's fuzz smoke run).

Each harness runs on a temporary copy of its seed corpus
(``fuzz/corpus/<name>/``) so the checkout is never modified. Exits non-zero
if any harness crashes or finds a failing input.

Usage: ``python fuzz/smoke.py [--runs N] [--seconds S] [harness ...]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("names", nargs="*", help="harness names (default: all)")
    args = parser.parse_args()
    harnesses = sorted(HERE.glob("fuzz_*.py"))
    if args.names:
        harnesses = [h for h in harnesses if h.stem.removeprefix("fuzz_") in args.names]
    if not harnesses:
        print("no fuzz harnesses found", file=sys.stderr)
        return 1
    failed = []
    for harness in harnesses:
        name = harness.stem.removeprefix("fuzz_")
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as tmp:
            corpus = Path(tmp) / "corpus"
            seeds = HERE / "corpus" / name
            if seeds.is_dir():
                shutil.copytree(seeds, corpus)
            else:
                corpus.mkdir()
            cmd = [
                sys.executable,
                str(harness),
                f"-runs={args.runs}",
                f"-max_total_time={args.seconds}",
                f"-artifact_prefix={tmp}/",
                str(corpus),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            tail = "\n".join(proc.stderr.splitlines()[-3:])
            status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
            print(f"fuzz {name}: {status}\n{tail}", flush=True)
            if proc.returncode != 0:
                print(proc.stderr[-4000:], file=sys.stderr)
                failed.append(name)
    print(f"fuzz smoke: {len(harnesses) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
