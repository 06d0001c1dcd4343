"""Benchmarks, printed as figures (not timed tests).

    python scripts/benchmark.py sync            # update-to-live latency, default + 10,000 records
    python scripts/benchmark.py sync --records 0  # default content only
    python scripts/benchmark.py budget          # what the home page transfers, compressed

Update-to-live: a PUT of a changed stage, then polling its page on the same server until
the change is served. Everything runs on 127.0.0.1; request loops are bounded.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server import ServerProcess, make_token  # noqa: E402

STAGE = """\
---
title: "Tahapan uji {n}"
phase: penyelenggaraan
start: 2024-{month:02d}-{day:02d}
summary: "Catatan sintetis nomor {n} untuk mengukur kecepatan."
monitoring:
  - "Hal yang dipantau {n}"
divisions:
  - divisi-{team}
verified: false
updated: 2026-11-29T10:00:00+08:00
---
Catatan sintetis untuk benchmark, bukan data Pilkada.
"""

TEAM = """\
name: "Divisi uji {n}"
role: divisi
summary: "Divisi sintetis {n}."
tupoksi:
  - "Tugas {n}"
verified: false
updated: 2026-11-29T10:00:00+08:00
"""

CAMPAIGN = """\
---
title: "Kampanye uji {n}"
summary: "Kampanye sintetis {n}."
audience: [pemilih pemula]
regions: [{region}]
organiser: Penyelenggara uji
call_to_action: Datang ke TPS.
verified: false
updated: 2026-11-29T10:00:00+08:00
---
"""

REGIONS = ["samarinda", "balikpapan", "bontang", "paser", "berau", "mahakam-ulu"]


def generate(target: Path, records: int) -> Path:
    """The shipped content plus `records` synthetic ones (60% stages, 20% teams, 20% campaigns)."""
    shutil.copytree(ROOT / "content", target)
    teams = records // 5
    campaigns = records // 5
    stages = records - teams - campaigns
    for n in range(teams):
        (target / "teams" / f"divisi-{n}.yaml").write_text(TEAM.format(n=n))
    for n in range(stages):
        text = STAGE.format(n=n, month=n % 12 + 1, day=n % 28 + 1, team=n % max(teams, 1))
        (target / "stages" / f"uji-{n}.md").write_text(text)
    for n in range(campaigns):
        region = REGIONS[n % len(REGIONS)]
        (target / "campaigns" / f"uji-{n}.md").write_text(CAMPAIGN.format(n=n, region=region))
    return target


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def update_to_live(content: Path, runs: int, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", content)
        token = make_token(server.data, "bench", "admin")
        started = time.perf_counter()
        server.start(timeout=600)
        startup = time.perf_counter() - started
        latencies = []
        try:
            with server.client(token) as http:
                for run in range(runs):
                    record = http.get("/api/records/stages/masa-tenang").json()
                    marker = f"penanda-{run}-{time.time_ns()}"
                    text = (
                        record["text"]
                        .replace("summary: ", f"summary: {marker} ", 1)
                        .replace(f"penanda-{run - 1}", "x")
                    )
                    began = time.perf_counter()
                    response = http.put(
                        "/api/records/stages/masa-tenang",
                        content=text.encode(),
                        headers={
                            "Content-Type": "text/markdown",
                            "If-Match": str(record["revision"]),
                        },
                    )
                    response.raise_for_status()
                    deadline = began + 30
                    while time.perf_counter() < deadline:
                        page = httpx.get(f"{server.url}/tahapan/masa-tenang/", timeout=10)
                        if marker in page.text:
                            break
                        time.sleep(0.005)
                    else:
                        raise RuntimeError("the change never appeared")
                    latencies.append(time.perf_counter() - began)
                builds = http.get("/api/builds").json()["builds"]
            rss = peak_rss_mb(server.process.pid) if server.process else float("nan")
        finally:
            server.stop()
    pages = sum(1 for _ in content.rglob("*.md")) + sum(1 for _ in content.rglob("*.yaml"))
    latencies.sort()
    incremental = [b["duration"] for b in builds if b["trigger"] != "startup" and b["duration"]]
    print(f"{label}: {pages} content files")
    print(f"  start-up until the first full build is live: {startup:.2f} s")
    print(
        f"  update-to-live over {runs} PUTs: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p90 {latencies[int(len(latencies) * 0.9) - 1] * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms"
    )
    if incremental:
        print(f"  incremental build time: median {statistics.median(incremental) * 1000:.0f} ms")
    print(f"  server peak memory (VmHWM): {rss:.0f} MB")


def page_budget() -> None:
    """Bytes the home page transfers gzip-compressed: its HTML and the CSS and scripts it
    loads (the service worker's precache runs afterwards, in the background)."""
    import datetime as dt
    import gzip
    import re

    from site_builder.build import build

    with tempfile.TemporaryDirectory() as tmp:
        result = build(ROOT / "content", Path(tmp) / "public", today=dt.date(2024, 11, 27))
        html = result.files["index.html"].decode()
        needed = ["index.html"]
        needed += re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
        needed += re.findall(r'<script src="([^"]+)"', html)
        total = 0
        for path in needed:
            raw = result.files[path]
            packed = len(gzip.compress(raw, compresslevel=9, mtime=0))
            total += packed
            print(f"  {path:22} {len(raw) / 1024:6.1f} KB raw  {packed / 1024:6.1f} KB gzip")
        print(f"home page total: {total / 1024:.1f} KB gzip (budget 50 KB)")
        search = result.files["search/index.js"]
        print(f"search index: {len(search) / 1024:.1f} KB raw (budget 100 KB)")
        site = sum(len(d) for p, d in result.files.items() if not p.startswith("unduh/"))
        print(f"precached site: {site / 1024:.0f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync", help="update-to-live latency")
    sync.add_argument("--runs", type=int, default=15)
    sync.add_argument("--records", type=int, default=10_000)
    sub.add_parser("budget", help="home page transfer size")
    args = parser.parse_args()
    if args.command == "budget":
        page_budget()
    if args.command == "sync":
        update_to_live(ROOT / "content", args.runs, "default content")
        if args.records:
            with tempfile.TemporaryDirectory() as tmp:
                content = generate(Path(tmp) / "content", args.records)
                update_to_live(content, args.runs, f"generated site (+{args.records} records)")


if __name__ == "__main__":
    main()
