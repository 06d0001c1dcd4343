"""A bounded load test of the sync server, printed as figures (not a timed test).

    python scripts/loadtest.py                    # 60 s, 8 readers, 20 writes per second
    python scripts/loadtest.py --seconds 10 --readers 4 --writes 5

A real server on 127.0.0.1 serves the shipped content. Readers fetch the site's pages at
random, as fast as they can, while one writer updates a campaign --writes times a second
(each write a real PUT with If-Match, so each one is validated, stored and republished).
Then the same readers fetch the same pages from a plain static file server (Python's
http.server in its own process) for comparison. Everything stays on loopback; the test
stops after --seconds per phase.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from site_builder.build import build  # noqa: E402
from tests.server import ServerProcess, free_port, make_token  # noqa: E402

CAMPAIGN = "campaigns/cek-dpt-online"


@dataclass
class Tally:
    """Latencies (seconds) and failures of one kind of request."""

    times: list[float] = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, ok: bool) -> None:
        with self.lock:
            self.times.append(seconds)
            self.failures += 0 if ok else 1

    def line(self, label: str, duration: float) -> str:
        if not self.times:
            return f"  {label}: none"
        ordered = sorted(self.times)

        def at(share: float) -> float:
            return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000

        return (
            f"  {label}: {len(ordered) / duration:.0f}/s, p50 {at(0.5):.1f} ms, "
            f"p99 {at(0.99):.1f} ms, {self.failures} failed of {len(ordered)}"
        )


def pages(site: Path) -> list[str]:
    return sorted(
        "/" + str(p.relative_to(site)).removesuffix("index.html")
        for p in site.rglob("*.html")
        if p.name != "404.html"
    )


def read(base: str, paths: list[str], until: float, tally: Tally, seed: int) -> None:
    chooser = random.Random(seed)
    with httpx.Client(base_url=base, timeout=10) as http:
        while time.monotonic() < until:
            began = time.perf_counter()
            try:
                ok = http.get(chooser.choice(paths)).status_code == 200
            except httpx.HTTPError:
                ok = False
            tally.add(time.perf_counter() - began, ok)


def write(server: ServerProcess, token: str, per_second: int, until: float, tally: Tally) -> None:
    with server.client(token) as http:
        current = http.get(f"/api/records/{CAMPAIGN}").json()
        revision, text = current["revision"], current["text"]
        count = 0
        while time.monotonic() < until:
            due = time.monotonic() + 1 / per_second
            count += 1
            edited = text.rstrip("\n") + f"\n\nPembaruan uji beban {count}.\n"
            began = time.perf_counter()
            try:
                answer = http.put(
                    f"/api/records/{CAMPAIGN}",
                    content=edited.encode(),
                    headers={"If-Match": str(revision), "Content-Type": "text/markdown"},
                )
                ok = answer.status_code == 200
                if ok:
                    revision = answer.json()["revision"]
            except httpx.HTTPError:
                ok = False
            tally.add(time.perf_counter() - began, ok)
            time.sleep(max(0.0, due - time.monotonic()))


def phase(
    base: str, paths: list[str], readers: int, seconds: float, writer: threading.Thread | None
) -> tuple[Tally, float]:
    reads = Tally()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=read, args=(base, paths, until, reads, n)) for n in range(readers)
    ]
    started = time.monotonic()
    for thread in [*threads, *([writer] if writer else [])]:
        thread.start()
    for thread in [*threads, *([writer] if writer else [])]:
        thread.join(timeout=seconds + 60)
    return reads, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60, help="length of each phase")
    parser.add_argument("--readers", type=int, default=8, help="reading threads")
    parser.add_argument("--writes", type=int, default=20, help="writes per second")
    args = parser.parse_args()
    if not (1 <= args.seconds <= 600 and 1 <= args.readers <= 64 and 0 <= args.writes <= 100):
        parser.error("bounds: 1-600 seconds, 1-64 readers, 0-100 writes per second")

    with tempfile.TemporaryDirectory(prefix="pantau-load-") as tmp:
        site = Path(tmp) / "site"
        build(ROOT / "content", site)
        paths = pages(site)
        server = ServerProcess(Path(tmp) / "data", ROOT / "content")
        token = make_token(server.data, "beban", "admin")
        server.start(timeout=300)
        writes = Tally()
        try:
            writer = (
                threading.Thread(
                    target=write,
                    args=(server, token, args.writes, time.monotonic() + args.seconds, writes),
                )
                if args.writes
                else None
            )
            reads, took = phase(server.url, paths, args.readers, args.seconds, writer)
        finally:
            server.stop()

        port = free_port()
        plain = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=site,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(base + "/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
            static_reads, static_took = phase(base, paths, args.readers, args.seconds, None)
        finally:
            plain.terminate()
            plain.wait(timeout=10)

    print(
        f"Load test: {args.seconds:.0f} s per phase, {args.readers} reading threads, "
        f"{len(paths)} pages, loopback, one machine shared with the load generator"
    )
    print("Sync server (reads while one writer updates a campaign):")
    print(reads.line("reads", took))
    print(writes.line(f"writes (target {args.writes}/s)", took))
    print("Plain static file server (python -m http.server), same reads:")
    print(static_reads.line("reads", static_took))


if __name__ == "__main__":
    main()
