"""The admin guide (docs/admin.md), run command by command on a temporary machine layout.

How the guide is read:

- A ```sh block holds commands; each line (a trailing ``\\`` joins the next) is run with
  ``sh`` in order, and must exit 0. ``#`` starts a remark.
- A ```sh skip="reason" block changes the machine itself (a user, packages, a service) and is
  not run; where the guide starts or restarts a service there, the test does what the service
  manager would (see SERVICES), so the commands after it meet a running server and nginx.
- A ```sh file=PATH block is a script the admin writes; it is written here (and checked by
  ``sh -n``) and run for real by tests/test_hooks.py, which reads it with ``guide_file``.
- Other blocks (```text) are examples of output.

Every ```sh block must be one of these, so a command added to the guide is either run here or
marked with the reason it cannot be.

What the test puts in place of the guide's paths and values: the folders ``/var/lib/pantau``,
``/srv/backups``, ``/etc/...`` and ``/usr/local/bin`` move under one temporary folder; Pantau
in ``/opt/pantau`` is this checkout and its ``.venv``; ``sudo -u pantau`` is dropped and the
owner ``pantau`` is the user running the test; the server's port 8000 and nginx's port 80
are free ports; ``nginx -t`` checks the filled-in file inside a main configuration of the
test's own (prefix, logs and pid in the temporary folder); ``systemd-analyze verify`` is
tests/test_deploy.py's check of the copied unit; build 41 is an earlier build the server kept.

Run as root with the group ``www-data`` present (as CI does), the test also checks the
guide's "Permissions" section: the folder modes and groups the server's files get under the
unit's ``UMask=0027``, and nginx serving the site with its workers running as ``www-data``.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from .server import ServerProcess, free_port
from .test_deploy import NGINX, Nginx, unit_settings, verify_unit

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "admin.md"
FENCE = re.compile(r"^```(?P<info>[^`]*)$")
STAGE_URL = "/api/records/stages/pemungutan-suara"


@dataclass
class Block:
    """A fenced block of the guide: its language, options (skip=, file=) and text."""

    line: int
    lang: str
    options: dict[str, str]
    text: str
    section: str


def read_blocks(path: Path = GUIDE) -> list[Block]:
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    section, i = "", 0
    while i < len(lines):
        if lines[i].startswith("#"):
            section = lines[i].lstrip("# ")
        fence = FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        words = shlex.split(fence["info"])
        start, body, i = i + 1, [], i + 1
        while not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        options = dict(word.split("=", 1) for word in words[1:] if "=" in word)
        lang = words[0] if words else ""
        blocks.append(Block(start, lang, options, "\n".join(body) + "\n", section))
    return blocks


def guide_file(path: str) -> str:
    """The script the guide has the admin write to ``path`` (a ```sh file=PATH block)."""
    found = [b.text for b in read_blocks() if b.options.get("file") == path]
    assert len(found) == 1, f"docs/admin.md has {len(found)} blocks for {path}"
    return found[0]


def commands(block: str) -> list[str]:
    joined = block.replace("\\\n", " ")
    return [c.strip() for c in joined.splitlines() if c.strip() and not c.startswith("#")]


def www_data() -> bool:
    """Whether the Permissions section can be checked for real: as root, with www-data."""
    try:
        grp.getgrnam("www-data")
    except KeyError:
        return False
    return os.geteuid() == 0 and NGINX is not None


@dataclass
class Machine:
    """The admin's machine, laid out under ``root``, and what runs on it."""

    root: Path
    token: str = ""
    server: ServerProcess | None = None
    nginx: Nginx | None = None
    nginx_port: int = field(default_factory=free_port)
    server_port: int = field(default_factory=free_port)
    earlier_build: int | None = None
    ran: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "var/lib/pantau"

    def fill(self, command: str) -> str:
        pantau = Path(sys.executable).parent / "pantau"
        user = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(os.getegid()).gr_name
        swaps = [
            ("sudo -u pantau ", ""),
            ("/opt/pantau/.venv/bin/pantau", str(pantau)),
            ("/opt/pantau/", f"{ROOT}/"),
            ("/var/lib/pantau", str(self.data)),
            ("/srv/", f"{self.root}/srv/"),
            ("/etc/", f"{self.root}/etc/"),
            ("-o pantau ", f"-o {user} "),
            ("127.0.0.1:8000", f"127.0.0.1:{self.server_port}"),
            ("s|__LISTEN__|80|", f"s|__LISTEN__|127.0.0.1:{self.nginx_port}|"),
            ("s|__PORT__|8000|", f"s|__PORT__|{self.server_port}|"),
        ]
        if not www_data():
            swaps.append(("-g www-data ", f"-g {group} "))
        if self.earlier_build is not None:
            swaps.append(("builds rollback 41 ", f"builds rollback {self.earlier_build} "))
        for shown, used in swaps:
            command = command.replace(shown, used)
        return command

    def run(self, shown: str, where: str) -> str:
        self.ran.append(shown)
        command = self.fill(shown)
        words = shlex.split(command, comments=True)
        if words[:2] == ["systemd-analyze", "verify"]:
            verify_unit(Path(words[2]))
            return ""
        if words == ["nginx", "-t"]:
            command = shlex.join([*self.make_nginx().args, "-t"])
        done = subprocess.run(
            ["sh", "-c", command],
            env={**os.environ, "TOKEN": self.token},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{where}: {shown}\nexit {done.returncode}:\n{done.stderr}"
        if "token create" in command and "--role admin" in command and not self.token:
            self.token = done.stdout.strip().splitlines()[-1]
        return done.stdout

    def make_nginx(self) -> Nginx:
        if self.nginx is None:
            prefix = self.root / "nginx"
            prefix.mkdir(mode=0o755)
            site = self.root / "etc/nginx/conf.d/pantau.conf"
            user = "www-data" if www_data() else None
            self.nginx = Nginx(prefix, self.data, self.server_port, site, user, self.nginx_port)
        return self.nginx

    # What systemd does where the guide has it start services ---------------------------------

    def start_server(self) -> None:
        unit = unit_settings((ROOT / "deploy/pantau.service").read_text())
        args = unit["ExecStart"].split()
        options = tuple(args[args.index("--forwarded-allow-ips") :])
        self.server = ServerProcess(self.data, extra_args=options)
        self.server.port, self.server.url = self.server_port, f"http://127.0.0.1:{self.server_port}"
        # As the unit does: UMask=0027 (the children inherit it).
        before = os.umask(int(unit["UMask"], 8))
        try:
            self.server.start()
        finally:
            os.umask(before)

    def restart_server(self) -> None:
        assert self.server is not None
        self.server.stop()
        self.start_server()

    def reload_nginx(self) -> None:
        self.make_nginx().start()

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        if self.server is not None:
            self.server.stop()


#: What the test does in place of a skipped block that starts or restarts a service.
SERVICES: dict[str, Callable[[Machine], None]] = {
    "systemctl enable --now pantau": Machine.start_server,
    "systemctl reload nginx": Machine.reload_nginx,
    "systemctl restart pantau": Machine.restart_server,
}


def change_a_page(machine: Machine) -> None:
    """Before "Rolling back": a change goes live, so the server keeps an earlier build."""
    assert machine.server is not None
    with machine.server.client(machine.token) as http:
        before = http.get("/api/health").json()["live_build"]
        record = http.get(STAGE_URL).json()
        text = record["text"].rstrip("\n") + "\n\nPerubahan yang akan ditarik kembali.\n"
        answer = http.put(
            STAGE_URL,
            content=text.encode(),
            headers={"Content-Type": "text/markdown", "If-Match": str(record["revision"])},
        )
        assert answer.status_code == 200, answer.text
        build = answer.json()["build"]["id"]
        deadline = time.monotonic() + 20
        while http.get("/api/health").json()["live_build"] != build:
            assert time.monotonic() < deadline, machine.server.log.read_text()
            time.sleep(0.05)
    machine.earlier_build = before


#: What happens on the machine as the reader reaches a section (its heading).
AT_SECTION: dict[str, Callable[[Machine], None]] = {"Rolling back": change_a_page}


def check_after(machine: Machine, shown: str, output: str) -> None:
    """What a command must have done, seen from outside."""
    server = machine.server
    if "builds rollback" in shown:
        assert server is not None
        health = httpx.get(f"{server.url}/api/health").json()
        assert health["pinned"]["build"] == machine.earlier_build
        page = httpx.get(f"{machine.make_nginx().url}/tahapan/pemungutan-suara/").text
        assert "ditarik kembali" not in page
    elif "builds resume" in shown:
        assert server is not None
        deadline = time.monotonic() + 10
        url = f"{machine.make_nginx().url}/tahapan/pemungutan-suara/"
        while "ditarik kembali" not in httpx.get(url).text:
            assert time.monotonic() < deadline, "resume did not publish the newest build"
            time.sleep(0.05)
    elif "builds list" in shown:
        assert f"{machine.earlier_build}" in output and "live" in output
    elif "token list" in shown:
        assert "admin" in output and "budi" in output


def check_permissions(machine: Machine) -> None:
    """The "Permissions" section, on the folders a real server wrote under UMask=0027."""
    data, www = machine.data, grp.getgrnam("www-data").gr_gid

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(data) == 0o710 and data.stat().st_gid == www
    builds = data / "builds"
    assert mode(builds) == 0o2750 and builds.stat().st_gid == www
    live = (data / "live").resolve()
    for path in [live, *live.rglob("*")]:
        assert path.stat().st_gid == www, path
        assert mode(path) & 0o047 == 0o040, (path, oct(mode(path)))  # group reads, others not
    for private in (data / "pantau.db", data / "content", *(data / "content").rglob("*")):
        assert private.stat().st_gid != www or mode(private) & 0o070 == 0, private
        assert mode(private) & 0o007 == 0, private
    # nginx's workers, as www-data, serve the site through the live link.
    nginx = machine.make_nginx()
    assert httpx.get(f"{nginx.url}/").status_code == 200


@pytest.fixture
def machine() -> Iterator[Machine]:
    # Outside pytest's private folders, so that nginx's workers (www-data) may enter it.
    root = Path(tempfile.mkdtemp(prefix="pantau-admin-guide-"))
    root.chmod(0o755)
    for folder in ("var/lib", "srv/backups", "etc/nginx/conf.d", "etc/systemd/system"):
        (root / folder).mkdir(parents=True, mode=0o755)
        (root / folder).chmod(0o755)
    (root / "var").chmod(0o755)
    found = Machine(root)
    try:
        yield found
    finally:
        found.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_the_admin_guide_runs(machine: Machine) -> None:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run installs it)")
    blocks = read_blocks()
    sections_seen: list[str] = []
    for block in blocks:
        if block.section not in sections_seen:
            sections_seen.append(block.section)
            for name, happen in AT_SECTION.items():
                if block.section == name:
                    happen(machine)
        where = f"docs/admin.md:{block.line}"
        if block.lang != "sh":
            assert block.lang == "text" and not block.options, f"{where}: ```{block.lang}"
            continue
        if "skip" in block.options:
            assert block.options["skip"].strip(), f"{where}: skip= needs a reason"
            for command, service in SERVICES.items():
                if command in block.text:
                    service(machine)
            continue
        if "file" in block.options:
            script = machine.root / block.options["file"].lstrip("/")
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(block.text, encoding="utf-8")
            checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
            assert checked.returncode == 0, f"{where}: {checked.stderr}"
            continue
        assert not block.options, f"{where}: unknown options {block.options}"
        for command in commands(block.text):
            output = machine.run(command, where)
            check_after(machine, command, output)
    assert all(section in sections_seen for section in AT_SECTION), "a section is gone"

    # Every kind of command the guide promises was shown and run.
    shown = " | ".join(machine.ran)
    for needed in ("token create", "token list", "token revoke", "builds list"):
        assert needed in shown
    for needed in ("builds rollback", "builds resume", "backup", "restore", "nginx -t"):
        assert needed in shown
    assert "systemd-analyze verify" in shown
    assert (machine.root / "var/lib/pantau-new/pantau.db").is_file()
    if www_data():
        check_permissions(machine)


def test_the_guide_marks_every_block(tmp_path: Path) -> None:
    """Each ```sh block is run, or skipped with a reason, or a file another test runs."""
    for block in read_blocks():
        where = f"docs/admin.md:{block.line}"
        assert block.lang in ("sh", "text"), f"{where}: a block needs sh or text"
        if block.lang == "sh":
            assert set(block.options) <= {"skip", "file"}, where
            assert all(block.options.values()), f"{where}: give skip= a reason"
    # The one script the guide has the admin write is the one tests/test_hooks.py runs.
    assert "rsync" in guide_file("/usr/local/bin/pantau-to-edges")
    sample = tmp_path / "g.md"
    sample.write_text('# A\n\n```sh\na \\\n  b\n# remark\nc\n```\n\n```sh skip="why not"\nd\n```\n')
    blocks = read_blocks(sample)
    assert [(b.lang, b.options, b.section) for b in blocks] == [
        ("sh", {}, "A"),
        ("sh", {"skip": "why not"}, "A"),
    ]
    assert commands(blocks[0].text) == ["a    b", "c"]
