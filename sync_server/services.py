"""The server's parts, shared by every request: database, content folder, publisher, record
transactions, the failed-login limiter, and the bounds on work done at the same time."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import anyio
from starlette.requests import HTTPConnection

from .images import PARALLEL_CHECKS
from .limiter import FailureLimiter
from .publisher import Publisher
from .records import Records
from .store import Store
from .workspace import Workspace

#: Record changes validated at the same time; the others wait without holding a thread.
PARALLEL_WRITES = 2


@dataclass
class Services:
    store: Store
    workspace: Workspace
    publisher: Publisher
    limiter: FailureLimiter
    records: Records
    ready: threading.Event = field(default_factory=threading.Event)
    writes: anyio.CapacityLimiter = field(
        default_factory=lambda: anyio.CapacityLimiter(PARALLEL_WRITES)
    )
    uploads: anyio.Semaphore = field(default_factory=lambda: anyio.Semaphore(PARALLEL_CHECKS))

    def problems(self, detailed: bool) -> list[str]:
        """What keeps the server from doing its job, one sentence each: a failing
        publisher (with its error if ``detailed``), record files it cannot write."""
        found = []
        failure = self.publisher.failure
        if failure is not None:
            found.append(failure.sentence(with_error=detailed))
        found += sorted(self.workspace.problems.values())
        return found


def services(conn: HTTPConnection) -> Services:
    return conn.app.state.services  # type: ignore[no-any-return]
