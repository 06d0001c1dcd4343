"""Benchmarks, printed as figures (not timed tests).

    python scripts/benchmark.py sync            # update-to-live latency, default + 10,000 records
    python scripts/benchmark.py sync --records 0  # default content only
    python scripts/benchmark.py budget          # what the home page transfers, compressed
    python scripts/benchmark.py build --records 10000  # Pantau vs Pelican vs Hugo, build times
    python scripts/benchmark.py build --records 3000 10000 --repeat 5

Sync: a server on the shipped content, then on the build corpus at --records N (see below).
Update-to-live: a PUT that adds a paragraph to one stage, one team and one campaign in turn,
then polling the record's page on the same server (every 20 ms, on one connection) until
the change is served. Then a
restart on the same data folder: when the previous site is served, and when the start-up
build is live. Everything runs on 127.0.0.1; request loops are bounded.

Build: one corpus per N (the shipped content plus N synthetic records with Markdown bodies,
see scripts/corpus.py), written to /dev/shm when it exists. Pantau, each step a fresh
`pantau build` process: a full build into an empty folder, a build with nothing changed, one
stage, one team and one campaign changed (their summaries), and one template changed
(content/templates/team.html); then one process rebuilding as `pantau dev` does (one
engine; a large site's downloadable copy left to a follow-up build once a minute), timing
each of --repeat edits of the same records after a first one. Pelican (installed
with pip into a cached virtualenv) and Hugo (when on PATH) build the same records converted
to their formats, full builds only.
Each step is timed --repeat times (median, min-max) with the child's peak memory from
os.wait4; every child has a timeout and nothing listens on a network port.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from corpus import Document, read_documents, write_hugo, write_pelican  # noqa: E402
from corpus import generate as generate_corpus  # noqa: E402

if TYPE_CHECKING:
    from tests.server import ServerProcess


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


#: One shipped record of each kind, with the page that shows it.
SYNC_CHANGES = [
    ("stages", "masa-tenang", "tahapan/masa-tenang/"),
    ("teams", "pemantauan-analisis", "tim/pemantauan-analisis/"),
    ("campaigns", "cek-dpt-online", "kampanye/cek-dpt-online/"),
]


def _change_once(http: httpx.Client, url: str, collection: str, slug: str, page: str) -> float:
    """PUT a changed summary, then poll the page until it shows the change: seconds taken."""
    response = http.get(f"/api/records/{collection}/{slug}")
    response.raise_for_status()
    record = response.json()
    marker = f"penanda{time.time_ns()}"
    # A paragraph appended to the body (every record chosen is Markdown), replacing the last.
    text = re.sub(r"\n\npenanda\d+\n$", "\n", record["text"]).rstrip("\n") + f"\n\n{marker}\n"
    kind = "text/markdown" if record.get("ext", ".md") == ".md" else "application/yaml"
    began = time.perf_counter()
    response = http.put(
        f"/api/records/{collection}/{slug}",
        content=text.encode(),
        headers={"Content-Type": kind, "If-Match": str(record["revision"])},
    )
    response.raise_for_status()
    deadline = began + 30
    # One connection, a look every POLL_SECONDS: polling harder would mostly measure how the
    # poll itself slows the server (each request takes the interpreter from the build).
    with httpx.Client(base_url=url, timeout=10) as reader:
        while time.perf_counter() < deadline:
            if marker in reader.get(f"/{page}").text:
                return time.perf_counter() - began
            time.sleep(POLL_SECONDS)
    raise RuntimeError(f"the change to {collection}/{slug} never appeared")


#: How often the benchmark looks for a change on the page (the latency it reports is late by
#: at most this much).
POLL_SECONDS = 0.02


def _restart(server: ServerProcess) -> tuple[float, float]:
    """Stop and start the server on its data folder: seconds until the previous live site is
    served, and until the start-up build is live."""
    server.stop()
    began = time.perf_counter()
    args = [sys.executable, "-m", "sync_server", "serve", "--data", str(server.data)]
    args += ["--port", str(server.port)]
    with open(server.log, "ab") as log:
        server.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    serving = None
    deadline = began + 120
    while time.perf_counter() < deadline:
        try:
            if serving is None and httpx.get(f"{server.url}/", timeout=1).status_code == 200:
                serving = time.perf_counter() - began
            health = httpx.get(f"{server.url}/api/health", timeout=1).json()
            if health["live_build"] is not None and serving is not None:
                return serving, time.perf_counter() - began
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.02)
    raise RuntimeError("the restarted server did not publish in time")


def update_to_live(content: Path, runs: int, label: str) -> None:
    from tests.server import ServerProcess, make_token

    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", content)
        token = make_token(server.data, "bench", "admin")
        started = time.perf_counter()
        server.start(timeout=900)
        startup = time.perf_counter() - started
        latencies: dict[str, list[float]] = {}
        try:
            with server.client(token) as http:
                for collection, slug, page in SYNC_CHANGES:
                    latencies[collection] = [
                        _change_once(http, server.url, collection, slug, page) for _ in range(runs)
                    ]
                builds = http.get("/api/builds").json()["builds"]
            rss = peak_rss_mb(server.process.pid) if server.process else float("nan")
            serving, restarted = _restart(server)
        finally:
            server.stop()
    files = sum(1 for _ in content.rglob("*.md")) + sum(1 for _ in content.rglob("*.yaml"))
    incremental = [b["duration"] for b in builds if b["trigger"] != "startup" and b["duration"]]
    print(f"{label}: {files} content files")
    print(f"  first start (empty data folder) until the first build is live: {startup:.2f} s")
    print(
        f"  restart with the previous state: old site served after {serving:.2f} s, "
        f"start-up build live after {restarted:.2f} s"
    )
    for collection, values in latencies.items():
        values.sort()
        print(
            f"  update-to-live, one {collection} record, {runs} PUTs: median "
            f"{statistics.median(values) * 1000:.0f} ms, p90 "
            f"{values[max(0, int(len(values) * 0.9) - 1)] * 1000:.0f} ms, "
            f"max {values[-1] * 1000:.0f} ms"
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


# --- build: Pantau vs Pelican vs Hugo -------------------------------------------------------

TODAY = "2024-11-27"
ROWS = (
    "full build",
    "nothing changed",
    "stage changed",
    "team changed",
    "campaign changed",
    "template changed",
    "stage changed, pantau dev",
    "team changed, pantau dev",
    "campaign changed, pantau dev",
)
# The records edited in the "changed" steps: shipped ones, present at every N.
CHANGED = (
    ("stage", "stages", "masa-tenang"),
    ("team", "teams", "pemantauan-analisis"),
    ("campaign", "campaigns", "cek-dpt-online"),
)
TEMPLATE = "team.html"
TOOLS = ("pantau", "pelican", "hugo")


class BenchError(RuntimeError):
    """A benchmarked command failed, timed out or could not be set up."""


@dataclass
class Run:
    """One timed child process."""

    seconds: float
    peak_mb: float
    last_line: str


@dataclass
class Step:
    """One measured step: `repeat` runs of the same command."""

    label: str
    runs: list[Run] = field(default_factory=list)
    files: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(run.peak_mb for run in self.runs)

    def cell(self) -> str:
        times = [run.seconds for run in self.runs]
        if len(times) == 1:
            return seconds(times[0])
        return f"{seconds(self.median)} ({min(times):.2f}-{max(times):.2f})"


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def run_child(args: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> Run:
    """Run one command to its end: wall time, peak RSS (os.wait4's rusage of this child
    alone) and the last line it printed (stdout, else stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            proc.kill()  # a no-op once the child is reaped: Popen sees ECHILD and stops

        timer = threading.Timer(timeout, stop)
        timer.daemon = True
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait(timeout=30)
            raise
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace").splitlines()
        stderr = err.read().decode(errors="replace").splitlines()
    name = Path(args[0]).name
    if timed_out.is_set():
        raise BenchError(f"{name} timed out after {timeout:.0f} s")
    if proc.returncode != 0:
        tail = "\n".join((stdout + stderr)[-20:])
        raise BenchError(f"{name} exited with {proc.returncode}:\n{tail}")
    lines = [line.strip() for line in stdout if line.strip()]
    lines = lines or [line.strip() for line in stderr if line.strip()]
    return Run(elapsed, usage.ru_maxrss / 1024, lines[-1] if lines else "")


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def progress(tool: str, step: Step) -> None:
    line = f"  {tool:8} {step.label:17} {step.cell():24} peak {step.peak_mb:5.0f} MB"
    if step.files:
        line += f"  {step.files} files"
    last = step.runs[-1].last_line
    print(f"{line}  | {last}" if last else line, flush=True)
    for note in step.notes:
        print(f"  {'':8} WARNING: {note}", flush=True)


def pantau_command() -> list[str]:
    """The venv's `pantau`, next to the running interpreter."""
    beside = Path(sys.executable).parent / "pantau"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("pantau")
    if found:
        return [found]
    raise BenchError(f"no pantau command next to {sys.executable} or on PATH")


def clean_pantau(out: Path) -> None:
    """Delete the out folder and whatever the builder keeps beside it (.<out name>*)."""
    if not out.parent.exists():
        return
    for path in out.parent.iterdir():
        if path == out or path.name.startswith(f".{out.name}"):
            remove(path)


def with_marker(text: str, marker: str) -> str:
    """The record's text with `marker` prepended to its summary (plain, quoted or folded)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("summary:"):
            continue
        value = line.removeprefix("summary:").strip()
        if value[:1] in (">", "|"):
            following = lines[i + 1]
            indent = len(following) - len(following.lstrip())
            lines[i + 1] = f"{following[:indent]}{marker} {following[indent:]}"
        elif value[:1] in ('"', "'"):
            lines[i] = f"summary: {value[0]}{marker} {value[1:]}"
        else:
            lines[i] = f"summary: {marker} {value}"
        return "\n".join(lines)
    raise BenchError("the record has no summary line to change")


def record_file(content: Path, collection: str, slug: str) -> Path:
    """The preferred record, else the first of its collection."""
    for suffix in (".md", ".yaml"):
        if (content / collection / f"{slug}{suffix}").exists():
            return content / collection / f"{slug}{suffix}"
    for path in sorted((content / collection).glob("*.md")):
        return path
    raise BenchError(f"no record in {content / collection}")


def check_page(out: Path, slug: str, marker: str, step: Step) -> None:
    """Note it when the record's page does not show the change (`<section>/<slug>/`)."""
    pages = sorted(out.glob(f"*/{slug}/index.html"))
    if pages and marker not in pages[0].read_text(encoding="utf-8"):
        note = f"{pages[0].relative_to(out)} does not show the change"
        if note not in step.notes:
            step.notes.append(note)


def bench_pantau(content: Path, out: Path, repeat: int, timeout: float) -> dict[str, Step]:
    command = pantau_command()
    command += ["build", "--content", str(content), "--out", str(out), "--today", TODAY]

    def build() -> Run:
        return run_child(command, out.parent, timeout)

    steps: dict[str, Step] = {}
    full = steps["full build"] = Step("full build")
    for _ in range(repeat):
        clean_pantau(out)
        full.runs.append(build())
    full.files = count_files(out)
    progress("pantau", full)

    same = steps["nothing changed"] = Step("nothing changed")
    for _ in range(repeat):
        same.runs.append(build())
    progress("pantau", same)

    for kind, collection, slug in CHANGED:
        step = steps[f"{kind} changed"] = Step(f"{kind} changed")
        path = record_file(content, collection, slug)
        original = path.read_text(encoding="utf-8")
        for i in range(repeat):
            marker = f"penanda-{kind}-{i}-{time.time_ns()}"
            path.write_text(with_marker(original, marker), encoding="utf-8")
            step.runs.append(build())
            check_page(out, path.stem, marker, step)
        progress("pantau", step)

    # content/templates/ comes before the theme in the template lookup.
    step = steps["template changed"] = Step("template changed")
    source = (ROOT / "themes" / "default" / "templates" / TEMPLATE).read_text(encoding="utf-8")
    if "{% block main %}" not in source:
        raise BenchError(f"themes/default/templates/{TEMPLATE} has no {{% block main %}}")
    target = content / "templates" / TEMPLATE
    target.parent.mkdir(exist_ok=True)
    team = record_file(content, "teams", CHANGED[1][2]).stem
    for i in range(repeat):
        marker = f"penanda-template-{i}-{time.time_ns()}"
        edited = source.replace("{% block main %}", f"{{% block main %}}<!-- {marker} -->", 1)
        target.write_text(edited, encoding="utf-8")
        step.runs.append(build())
        check_page(out, team, marker, step)
    progress("pantau", step)
    target.unlink()

    # One process keeping one engine, as `pantau dev` does: each edit after the first.
    child = run_child(
        [sys.executable, __file__, "dev-session", str(content), str(out), str(repeat)],
        out.parent,
        timeout,
    )
    for kind, times in json.loads(child.last_line).items():
        step = steps[f"{kind} changed, pantau dev"] = Step(f"{kind} changed, pantau dev")
        step.runs = [Run(t, child.peak_mb, "") for t in times]
        progress("pantau", step)
    return steps


def dev_session(content: Path, out: Path, repeat: int) -> None:
    """Rebuild ``out`` as `pantau dev` does (its DevSite: one engine, and the downloadable
    copy left to a follow-up build on a large site), editing each CHANGED record once to warm
    it and then ``repeat`` times: print the seconds of those builds as JSON."""
    from site_builder.dev import DevSite

    site = DevSite(content, out=out, today=dt.date.fromisoformat(TODAY))
    times: dict[str, list[float]] = {}
    for kind, collection, slug in CHANGED:
        path = record_file(content, collection, slug)
        original = path.read_text(encoding="utf-8")
        times[kind] = []
        for i in range(repeat + 1):
            marker = f"penanda-dev-{kind}-{i}-{time.time_ns()}"
            path.write_text(with_marker(original, marker), encoding="utf-8")
            began = time.perf_counter()
            if not site.rebuild():
                raise BenchError(f"pantau dev's build failed: {site.status.error}")
            if i:  # the first loads what the engine keeps from then on
                times[kind].append(time.perf_counter() - began)
            page = next(iter(sorted(out.glob(f"*/{path.stem}/index.html"))), None)
            if page is not None and marker not in page.read_text(encoding="utf-8"):
                raise BenchError(f"{page} does not show the change")
    print(json.dumps(times))


def cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pantau-bench"


def pelican_command(timeout: float) -> Path:
    """Pelican in a virtualenv under the cache folder, installed with pip on first use."""
    venv = cache_home() / "pelican-venv"
    pelican = venv / "bin" / "pelican"
    if pelican.exists():
        return pelican
    print(f"installing Pelican into {venv} (pip) ...", flush=True)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        subprocess.run(
            [*install, "pelican", "markdown"], check=True, capture_output=True, timeout=timeout
        )
    except subprocess.CalledProcessError as exc:
        tail = "\n".join(exc.stderr.decode(errors="replace").splitlines()[-10:])
        raise BenchError(f"installing Pelican failed:\n{tail}") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"installing Pelican failed: {exc}") from None
    if not pelican.exists():
        raise BenchError(f"pip did not install {pelican}")
    return pelican


def version(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown version"
    return (done.stdout.strip() or done.stderr.strip()).splitlines()[0]


def bench_full(
    tool: str,
    command: list[str],
    cwd: Path,
    out: Path,
    scratch: list[Path],
    repeat: int,
    timeout: float,
    env: dict[str, str] | None = None,
) -> dict[str, Step]:
    """`repeat` full builds into an empty `out` (and empty `scratch` caches)."""
    step = Step("full build")
    for _ in range(repeat):
        for path in (out, *scratch):
            remove(path)
        step.runs.append(run_child(command, cwd, timeout, env))
    step.files = count_files(out)
    progress(tool, step)
    return {"full build": step}


def bench_pelican(
    pelican: Path, docs: list[Document], base: Path, repeat: int, timeout: float
) -> dict[str, Step]:
    site = write_pelican(docs, base / "pelican")
    out = base / "pelican-out"
    command = [str(pelican), "content", "-o", str(out), "-s", "pelicanconf.py"]
    # Wide "terminal" so Pelican's summary stays on one line.
    env = {**os.environ, "COLUMNS": "1000"}
    scratch = [site / "cache", site / "__pycache__"]
    return bench_full("pelican", command, site, out, scratch, repeat, timeout, env)


def bench_hugo(
    hugo: str, docs: list[Document], base: Path, repeat: int, timeout: float
) -> dict[str, Step]:
    site = write_hugo(docs, base / "hugo")
    out = base / "hugo-out"
    cache = base / "hugo-cache"
    command = [hugo, "--quiet", "-s", str(site), "-d", str(out), "--cacheDir", str(cache)]
    scratch = [cache, site / "resources", site / ".hugo_build.lock"]
    return bench_full("hugo", command, site, out, scratch, repeat, timeout)


def ratio(pantau: Step | None, other: Step | None) -> str:
    if pantau is None or other is None or not pantau.runs or not other.runs:
        return ""
    return f"{pantau.median / other.median:.1f}x"


def build_table(results: dict[str, dict[str, Step]], skipped: dict[str, str]) -> str:
    """One Markdown table: rows are the steps, columns the tools and the ratios."""

    def cell(tool: str, row: str) -> str:
        if tool in skipped:
            return "not run" if row == "full build" else ""
        step = results.get(tool, {}).get(row)
        return step.cell() if step else "—"

    pantau = results.get("pantau", {})
    lines = [
        "| step | Pantau | Pelican | Hugo | Pantau/Pelican | Pantau/Hugo |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in ROWS:
        cells = [cell(tool, row) for tool in TOOLS]
        ratios = ["", ""]
        if row == "full build":
            ratios = [
                ratio(pantau.get(row), results.get("pelican", {}).get(row)),
                ratio(pantau.get(row), results.get("hugo", {}).get(row)),
            ]
        lines.append(f"| {row} | {' | '.join(cells + ratios)} |")
    memory = []
    files = []
    for tool in TOOLS:
        step = results.get(tool, {}).get("full build")
        memory.append(f"{step.peak_mb:.0f} MB" if step else "")
        files.append(str(step.files) if step else "")
    lines.append(f"| peak memory, full build | {' | '.join(memory)} |  |  |")
    lines.append(f"| files written, full build | {' | '.join(files)} |  |  |")
    return "\n".join(lines)


def build_benchmark(
    sizes: list[int], repeat: int, timeout: float, tools: list[str], keep: bool, seed: int
) -> None:
    shm = Path("/dev/shm")
    workdir = Path(tempfile.mkdtemp(prefix="pantau-bench-", dir=shm if shm.is_dir() else None))
    skipped: dict[str, str] = {tool: "not selected" for tool in TOOLS if tool not in tools}
    pelican: Path | None = None
    hugo: str | None = None
    if "pelican" in tools:
        try:
            pelican = pelican_command(timeout)
        except BenchError as exc:
            skipped["pelican"] = str(exc)
    if "hugo" in tools:
        hugo = shutil.which("hugo")
        if hugo is None:
            skipped["hugo"] = "no hugo on PATH"
    header = [f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}"]
    header.append(f"Python {platform.python_version()}")
    if pelican:
        header.append(f"Pelican {version([str(pelican), '--version'])}")
    if hugo:
        header.append(version([hugo, "version"]).split("+")[0].split("-")[0])
    print(f"corpora in {workdir}; {'; '.join(header)}")
    for tool, reason in skipped.items():
        if reason != "not selected":
            print(f"{tool} skipped: {reason}")

    tables: list[str] = []
    try:
        for size in sizes:
            base = workdir / f"n{size}"
            began = time.perf_counter()
            content = generate_corpus(base / "content", size, seed=seed)
            docs = read_documents(content)
            words = sum(len(doc.body.split()) for doc in docs)
            megabytes = sum(p.stat().st_size for p in content.rglob("*") if p.is_file()) / 1e6
            described = (
                f"N = {size}: {len(docs)} records ({size} synthetic + the shipped content), "
                f"{words:,} body words, {megabytes:.1f} MB of content"
            )
            print(f"\n{described}; generated in {time.perf_counter() - began:.1f} s", flush=True)
            results: dict[str, dict[str, Step]] = {}
            failed = dict(skipped)
            if "pantau" in tools:
                results["pantau"] = bench_pantau(content, base / "public", repeat, timeout)
            if pelican:
                try:
                    results["pelican"] = bench_pelican(pelican, docs, base, repeat, timeout)
                except BenchError as exc:
                    print(f"  pelican  failed: {exc}")
                    failed["pelican"] = str(exc)
            if hugo:
                try:
                    results["hugo"] = bench_hugo(hugo, docs, base, repeat, timeout)
                except BenchError as exc:
                    print(f"  hugo     failed: {exc}")
                    failed["hugo"] = str(exc)
            runs = f"{repeat} run{'s' if repeat != 1 else ''} per step, median (min-max)"
            tables.append(f"{described}; {runs}.\n\n{build_table(results, failed)}")
            if not keep:
                shutil.rmtree(base)
    finally:
        if keep:
            print(f"\nkept the corpora and outputs in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{'; '.join(header)}.")
    for table in tables:
        print(f"\n{table}")
    print(
        "\nPantau: each step is a fresh `pantau build` process, except the 'pantau dev' rows"
        "\n(one process keeping one engine, as `pantau dev` does). Pelican and Hugo: full builds"
        "\nonly (neither keeps incremental state between separate runs), so their other rows"
        "\nare empty; rebuilding after a change costs them a full build."
    )
    for tool, reason in skipped.items():
        if reason != "not selected":
            print(f"{tool.capitalize()} not run: {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync", help="update-to-live latency")
    sync.add_argument("--runs", type=int, default=15)
    sync.add_argument("--records", type=int, default=10_000)
    sub.add_parser("budget", help="home page transfer size")
    session = sub.add_parser("dev-session", help=argparse.SUPPRESS)
    session.add_argument("content", type=Path)
    session.add_argument("out", type=Path)
    session.add_argument("repeat", type=int)
    bench = sub.add_parser("build", help="build times: Pantau vs Pelican vs Hugo")
    bench.add_argument(
        "--records", type=int, nargs="+", default=[10_000], help="synthetic records (several N)"
    )
    bench.add_argument("--repeat", type=int, default=3, help="runs per step")
    bench.add_argument("--timeout", type=float, default=900, help="seconds per child process")
    bench.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    bench.add_argument("--seed", type=int, default=2024, help="seed of the corpus generator")
    bench.add_argument("--keep", action="store_true", help="keep the corpora and outputs")
    args = parser.parse_args()
    if args.command == "build":
        if args.repeat < 1 or any(n < 0 for n in args.records):
            parser.error("--repeat must be at least 1 and --records at least 0")
        try:
            build_benchmark(
                args.records, args.repeat, args.timeout, args.tools, args.keep, args.seed
            )
        except BenchError as exc:
            sys.exit(f"benchmark failed: {exc}")
    if args.command == "budget":
        page_budget()
    if args.command == "dev-session":
        dev_session(args.content, args.out, args.repeat)
    if args.command == "sync":
        update_to_live(ROOT / "content", args.runs, "default content")
        if args.records:
            with tempfile.TemporaryDirectory() as tmp:
                content = generate_corpus(Path(tmp) / "content", args.records)
                update_to_live(content, args.runs, f"generated site (+{args.records} records)")


if __name__ == "__main__":
    main()
