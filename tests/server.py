"""Run the real sync server as a subprocess on 127.0.0.1 and a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from sync_server.auth import create_token
from sync_server.server import open_store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_token(data: Path, name: str, role: str, expires: int | None = None) -> str:
    store = open_store(data)
    try:
        return create_token(store, name, role, expires)
    finally:
        store.close()


class ServerProcess:
    """`pantau serve` in a child process; output goes to a log file in the data folder."""

    def __init__(
        self,
        data: Path,
        seed: Path | None = None,
        auth_failures: int = 1000,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.data = data
        self.seed = seed
        self.auth_failures = auth_failures
        self.extra_args = extra_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data.parent / f"{data.name}-server.log"

    def start(self, timeout: float = 30) -> ServerProcess:
        args = [sys.executable, "-m", "sync_server", "serve", "--data", str(self.data)]
        args += ["--port", str(self.port), "--max-auth-failures", str(self.auth_failures)]
        if self.seed is not None:
            args += ["--content", str(self.seed)]
        args += self.extra_args
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log.read_text()}")
            try:
                health = httpx.get(f"{self.url}/api/health", timeout=1).json()
                if health["live_build"] is not None:
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not publish a site in time:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def memory(self, field: str = "VmHWM") -> int:
        """A memory figure of the server process from /proc (VmHWM: its peak resident set),
        in bytes."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith(field + ":"))
        return int(line.split()[1]) * 1024

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


def scratch_server(folders: Any, extra: dict[str, str] | None = None) -> ServerProcess:
    """A started server on the scratch content (plus ``extra`` files), its seed and data in
    fresh folders of ``folders`` (pytest's tmp_path_factory)."""
    from .conftest import write_scratch

    seed = write_scratch(folders.mktemp("seed") / "content", extra)
    return ServerProcess(folders.mktemp("data") / "data", seed).start()
