"""`pantau serve --after-build COMMAND`: run a command after every build that went live, e.g.
to copy the built folder to edge servers, without ever holding up publishing."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from site_builder.i18n import _

log = logging.getLogger("pantau.sync")

#: The longest one run may take before it is killed (the next build runs it again).
HOOK_TIMEOUT = 600.0
#: The most of a run's output written to the log (its last characters).
OUTPUT_LOGGED = 2000


@dataclass(frozen=True)
class HookFailure:
    """The last run of the after-build command failed: edges may lag behind the live site."""

    build: int
    code: int | None  # None: killed after the timeout; -1: could not be run at all
    timeout: float = HOOK_TIMEOUT

    def sentence(self) -> str:
        """One sentence for /api/health, in the request's language."""
        if self.code is None:
            return _(
                "the after-build command was stopped after {seconds} s after build {build}; "
                "edge servers may serve an older site"
            ).format(seconds=f"{self.timeout:.0f}", build=self.build)
        if self.code < 0:
            return _(
                "the after-build command could not run after build {build}; edge servers may "
                "serve an older site"
            ).format(build=self.build)
        return _(
            "the after-build command exited with {code} after build {build}; edge servers "
            "may serve an older site"
        ).format(code=self.code, build=self.build)


class AfterBuild:
    """Runs one command in a background thread, one run at a time. Builds that go live while
    it runs leave one more run queued (for the newest build, with every path changed since
    the last run started), never a pile of them."""

    def __init__(self, command: str, timeout: float = HOOK_TIMEOUT) -> None:
        self.args = shlex.split(command)
        if not self.args:
            raise ValueError("the after-build command is empty")
        self.timeout = timeout
        self._cond = threading.Condition()
        self._pending: tuple[int, Path] | None = None
        self._changed: set[str] = set()
        self._stop = False
        #: The last run's failure, one sentence for the log; None once a run succeeds.
        self.failure: str | None = None
        #: The same failure, for /api/health; None once a run succeeds.
        self.problem: HookFailure | None = None
        self._thread = threading.Thread(target=self._run, name="pantau-after-build", daemon=True)
        self._thread.start()

    def __call__(self, build_id: int, live: Path, changed: list[str]) -> None:
        """Queue a run for a build now live in ``live`` that wrote or removed ``changed``."""
        with self._cond:
            self._pending = (build_id, live)
            self._changed.update(changed)
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                (build_id, live), changed = self._pending, sorted(self._changed)
                self._pending, self._changed = None, set()
            try:
                self.run_once(build_id, live, changed)
            except Exception as exc:  # never let one run end the thread
                self.failure = f"the after-build command failed for build {build_id}: {exc}"
                self.problem = HookFailure(build_id, -1)
                log.error("%s", self.failure)

    def run_once(self, build_id: int, live: Path, changed: list[str]) -> int | None:
        """Run the command once and log its output and exit code, one line each; returns the
        exit code (None if it timed out)."""
        with tempfile.TemporaryDirectory(prefix="pantau-after-build-") as folder:
            listing = Path(folder) / "changed.txt"
            listing.write_text("".join(f"{path}\n" for path in changed), encoding="utf-8")
            env = {
                **os.environ,
                "PANTAU_LIVE": str(live),
                "PANTAU_BUILD": str(build_id),
                "PANTAU_CHANGED": str(listing),
            }
            started = time.perf_counter()
            try:
                done = subprocess.run(
                    self.args,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    timeout=self.timeout,
                    check=False,
                )
                output, code = done.stdout, done.returncode
            except subprocess.TimeoutExpired as exc:
                output, code = exc.output or b"", None
            except OSError as exc:
                output, code = str(exc).encode(), 127
        seconds = time.perf_counter() - started
        text = " | ".join(output.decode("utf-8", "replace").strip().splitlines())
        if len(text) > OUTPUT_LOGGED:
            text = "..." + text[-OUTPUT_LOGGED:]
        log.info("after-build command output for build %s: %s", build_id, text or "(none)")
        if code == 0:
            self.failure, self.problem = None, None
            log.info("after-build command for build %s exited with 0 in %.2f s", build_id, seconds)
        else:
            why = f"timed out after {self.timeout:.0f} s" if code is None else f"exited with {code}"
            self.failure = f"the after-build command for build {build_id} {why}"
            self.problem = HookFailure(build_id, code, self.timeout)
            log.error("%s; publishing goes on", self.failure)
        return code
