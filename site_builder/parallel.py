"""Render many outputs on every core: forked workers render their share and write their files
themselves, and send back only each file's hash, size and the keys it read, with the
fragments they made.

Forking is used only where it is safe: a process with a single thread (the command line), on
a system that has ``os.fork``. Anywhere else, and for small batches, everything renders in the
calling process.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import threading
import traceback
from collections.abc import Callable, Hashable
from pathlib import Path

from .deps import Fragments, Kept
from .errors import BuildError, PantauError
from .i18n import _
from .pages import Output

#: Below this many outputs a batch is rendered in the calling process, unless the outputs
#: were at least PARALLEL_BYTES large last time (a change to one record of a large site
#: renders a few lists and exports of megabytes each).
PARALLEL_FROM = 400
PARALLEL_BYTES = 4 * 1024 * 1024

#: One rendered output: its path, content hash, size, the keys it read, whether its bytes
#: differ from the last build's (and so were written), and its CRC-32.
Rendered = tuple[str, str, int, frozenset[str], bool, int]


def workers() -> int:
    """How many processes to render with: one per core, if this process may fork."""
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), 8))


def render_all(
    outputs: list[Output],
    render_one: Callable[[Output], Rendered],
    fragments: Fragments,
    heavy: Callable[[Output], bool],
    done: Callable[[], None] = lambda: None,
    size: Callable[[Output], int] = lambda output: 0,
) -> list[Rendered]:
    """Render every output with ``render_one``, shared out between forked workers and this
    process (the ``heavy`` ones, lists and exports, dealt out first, the largest by ``size``
    last time first, so each process gets some).
    The fragments a worker makes come back with its results, so the next build reuses them.
    ``done`` runs in every process once it has rendered its share."""
    count = workers()
    many = len(outputs) >= PARALLEL_FROM
    # A long-lived process (one that trusts the pieces of its last build) renders a small
    # batch itself: the pieces it makes stay in its memory for the next build.
    large = not fragments.trusted and len(outputs) > 1 and sum(map(size, outputs)) >= PARALLEL_BYTES
    if count == 1 or not (many or large):
        results = [render_one(o) for o in outputs]
        done()
        return results
    ordered = sorted(outputs, key=lambda o: (not heavy(o), -size(o)))
    shares = [ordered[i::count] for i in range(count)]
    with tempfile.TemporaryDirectory(prefix="pantau-workers-") as tmp:
        children = [
            _fork(share, render_one, fragments, done, Path(tmp) / f"{n}.pickle")
            for n, share in enumerate(shares[1:])
        ]
        results = [render_one(o) for o in shares[0]]
        done()
        for pid, result_file in children:
            _, status = os.waitpid(pid, 0)
            rendered, made = _collect(result_file, status)
            results += rendered
            fragments.adopt(made)
    return results


def _fork(
    share: list[Output],
    render_one: Callable[[Output], Rendered],
    fragments: Fragments,
    done: Callable[[], None],
    result_file: Path,
) -> tuple[int, Path]:
    pid = os.fork()
    if pid == 0:  # the worker: render, write the results, and leave without cleaning up
        code = 0
        try:
            rendered = [render_one(o) for o in share]
            done()
            payload: object = [rendered, fragments.made_here()]
        except PantauError as exc:
            payload, code = ("error", str(exc)), 1
        except BaseException:  # a bug: pass its traceback to the parent
            payload, code = ("error", traceback.format_exc()), 1
        try:
            result_file.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
        finally:
            os._exit(code)
    return pid, result_file


def _collect(result_file: Path, status: int) -> tuple[list[Rendered], dict[Hashable, Kept]]:
    try:
        # The file was written by our own forked worker a moment ago, in our own temporary
        # folder: it is trusted like the worker's memory was.
        payload = pickle.loads(result_file.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError):
        raise BuildError(
            _("a render worker stopped without a result (status {status})").format(status=status)
        ) from None
    if isinstance(payload, tuple):
        raise BuildError(payload[1])
    return payload[0], payload[1]  # type: ignore[index]
