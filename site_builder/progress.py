"""Progress of long work (a build, a sync, a backup) for the person or the log watching it.

The work reports through a plain callback, ``report(stage, done, total)`` (``total`` is None
when unknown), as often as it likes; the reporters here decide what to show and how often:

* on a terminal (stderr is a TTY): a rich progress bar on stderr, redrawn at most every
  0.1 s and only when the work reports (no refresh thread: a build forks its workers only
  while the process has a single thread), cleared once the work is done;
* anywhere else (a pipe, a log file, cron): nothing for short work, so a log holds only the
  summary; work that runs longer than ``LINES_AFTER`` seconds writes a plain line such as
  ``Rendering: 5000/20116`` on stderr at most every ``LINES_EVERY`` seconds, so a log reader
  can see that it is alive and where the time went;
* with ``--quiet``: nothing.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

Report = Callable[[str, int, "int | None"], None]
"""``report(stage, done, total)``: where long work is; ``total`` None when it is not known."""

REDRAW_EVERY = 0.1
LINES_AFTER = 5.0
LINES_EVERY = 10.0


def no_report(stage: str, done: int, total: int | None) -> None:
    """The report of work nobody watches."""


class Reporter:
    """Shows the progress of one command's work; use as a context manager and pass it (it is
    the ``report`` callback) to the work. ``say`` prints a line of the command's output
    without breaking the bar."""

    def __enter__(self) -> Reporter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        """Where the work is now."""

    def say(self, text: str, err: bool = False) -> None:
        click.echo(text, err=err)

    def close(self) -> None:
        """Take the progress display away (the summary follows)."""


class Quiet(Reporter):
    """``--quiet``: no progress; the lines the work says are left to the caller to filter."""


class Lines(Reporter):
    """Plain lines on a stream that is not a terminal, only for work that takes a while."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.last_line = 0.0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.started < LINES_AFTER or now - self.last_line < LINES_EVERY:
            return
        self.last_line = now
        line = f"{stage}: {done}/{total}" if total is not None else f"{stage}..."
        click.echo(line, file=self.stream or sys.stderr)


class Bar(Reporter):
    """A rich progress bar on stderr, one line per stage, gone when the work is done."""

    def __init__(self, stream: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(file=stream or sys.stderr)
        self.progress: Progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            auto_refresh=False,  # no thread: see the module's docstring
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.stage: str | None = None
        self.task: TaskID | None = None
        self.last = 0.0
        self.pid = os.getpid()
        self.started = False

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if os.getpid() != self.pid:
            return  # a forked worker: the terminal is the parent's
        if stage == self.stage and now - self.last < REDRAW_EVERY and done != total:
            return
        self.last = now
        if not self.started:
            self.progress.start()
            self.started = True
        if stage != self.stage or self.task is None:
            if self.task is not None:
                task = self.progress.tasks[-1]
                self.progress.update(self.task, total=task.total or task.completed or 1)
                self.progress.update(self.task, completed=task.total)
            self.stage = stage
            self.task = self.progress.add_task(
                stage, total=total, completed=done, count=_count(done, total)
            )
        else:
            self.progress.update(self.task, total=total, completed=done, count=_count(done, total))
        self.progress.refresh()

    def say(self, text: str, err: bool = False) -> None:
        if self.started and not err and sys.stdout.isatty():
            self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
            self.progress.refresh()
        else:
            click.echo(text, err=err)

    def close(self) -> None:
        if self.started and os.getpid() == self.pid:
            self.progress.stop()
            self.started = False


def reporter(quiet: bool = False, stream: TextIO | None = None) -> Reporter:
    """The reporter for where the output goes: nothing, a bar on a terminal or plain lines."""
    if quiet:
        return Quiet()
    target = stream or sys.stderr
    if _is_terminal(target):
        return Bar(target)
    return Lines(target)


def _count(done: int, total: int | None) -> str:
    return f"{done}/{total}" if total is not None else ""


def _is_terminal(stream: TextIO) -> bool:
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM") != "dumb"
