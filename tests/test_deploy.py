"""deploy/: the nginx template in front of a real sync server, and the systemd unit.

nginx is Debian's, run as a foreground process with its own prefix, pid and logs on a free
loopback port; `.ci/run` installs it when missing.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from site_builder.preview import SECURITY_HEADERS
from tests.server import ServerProcess, free_port, make_token

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)


def fill(template: str, **values: str) -> str:
    for name, value in values.items():
        template = template.replace(f"__{name}__", value)
    return template


class Nginx:
    """nginx in the foreground with deploy/nginx.conf filled in, all its files in `prefix`.
    ``site`` is a filled-in copy made elsewhere (the admin guide's `sed`); ``user`` the one its
    workers run as (as root, by default root: nobody cannot enter pytest's private folders)."""

    def __init__(
        self,
        prefix: Path,
        data: Path,
        upstream_port: int,
        site: Path | None = None,
        user: str | None = None,
        port: int | None = None,
    ) -> None:
        assert NGINX is not None
        self.prefix = prefix
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if site is None:
            filled = fill(
                (DEPLOY / "nginx.conf").read_text(),
                LISTEN=f"127.0.0.1:{self.port}",
                SERVER_NAME="localhost",
                DATA=str(data.resolve()),
                PORT=str(upstream_port),
            )
            assert "__" not in filled.replace("__pantau", ""), "a placeholder is left"
            site = prefix / "pantau.conf"
            site.write_text(filled)
        temp = "\n".join(
            f"    {kind}_temp_path {prefix / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        if user is None and os.geteuid() == 0:
            user = "root"
        (prefix / "nginx.conf").write_text(
            (f"user {user};\n" if user else "")
            + f"daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\n"
            f"error_log {prefix / 'error.log'} info;\n"
            "events { worker_connections 64; }\n"
            f"http {{\n    access_log {prefix / 'access.log'};\n{temp}\n"
            f"    include {site};\n}}\n"
        )
        self.args = [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log")]
        self.args += ["-c", str(prefix / "nginx.conf")]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15) -> Nginx:
        checked = subprocess.run([*self.args, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        log = open(self.prefix / "stdout.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{(self.prefix / 'error.log').read_text()}")
            try:
                httpx.get(self.url, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not answer:\n{(self.prefix / 'error.log').read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown
            self.process.wait(timeout=15)


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[Nginx, ServerProcess]]:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run installs it)")
    data = tmp_path / "data"
    server = ServerProcess(data, extra_args=("--forwarded-allow-ips", "127.0.0.1")).start()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    nginx = Nginx(prefix, data, server.port)
    try:
        yield nginx.start(), server
    finally:
        nginx.stop()
        server.stop()


def assert_hardened(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_list(name) == [value], name
    assert response.headers.get("server", "nginx") == "nginx"  # no version


@pytest.mark.slow
def test_nginx_serves_the_live_site_and_proxies_the_api(
    proxied: tuple[Nginx, ServerProcess],
) -> None:
    nginx, server = proxied
    with httpx.Client(base_url=nginx.url, timeout=10) as web:
        check_through_nginx(web, server)


def check_through_nginx(web: httpx.Client, server: ServerProcess) -> None:

    page = web.get("/tahapan/", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and "masa-tenang/" in page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-encoding"] == "gzip"
    assert page.headers["cache-control"] == "no-cache"
    assert_hardened(page)
    assert page.text == httpx.get(f"{server.url}/tahapan/").text

    folder = web.get("/tahapan")
    assert folder.status_code == 301 and folder.headers["location"] == "/tahapan/"
    assert_hardened(folder)

    style = web.get("/static/style.css", headers={"Accept-Encoding": "gzip"})
    assert style.status_code == 200 and style.headers["content-encoding"] == "gzip"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert style.headers["cache-control"] == "public, max-age=60, must-revalidate"
    again = web.get("/static/style.css", headers={"If-None-Match": style.headers["etag"]})
    assert again.status_code == 304

    worker = web.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["cache-control"] == "no-cache"
    assert worker.headers["content-type"] == "text/javascript; charset=utf-8"
    manifest = web.get("/manifest.webmanifest")
    assert manifest.headers["cache-control"] == "no-cache"
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    offline = web.get("/offline/")
    assert offline.status_code == 200 and offline.headers["cache-control"] == "no-cache"
    download = web.get("/unduh/pantau-situs.zip")
    assert download.status_code == 200 and download.content.startswith(b"PK")
    assert "content-encoding" not in download.headers

    # Above the root nginx answers 400 itself: nothing of the data folder is reachable.
    for path in ("/%2e%2e/pantau.db", "/..%2f..%2fpantau.db", "/%2e%2e/content/site.yaml"):
        assert web.get(path).status_code in (400, 404), path
    for path in ("/tidak-ada/", "/static/", "/.pantau-build"):
        missing = web.get(path)
        assert missing.status_code == 404, path
        assert "Halaman tidak ditemukan" in missing.text
        assert missing.headers["cache-control"] == "no-cache"
        assert_hardened(missing)

    health = web.get("/api/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert_hardened(health)
    assert web.get("/api/records/stages").status_code == 401
    # The browser editor is the server's too: its sign-in page, and a session through nginx.
    sign_in = web.get("/redaksi/masuk")
    assert sign_in.status_code == 200 and "Ruang redaksi" in sign_in.text
    assert sign_in.headers["cache-control"] == "no-store"
    assert_hardened(sign_in)
    editor_token = make_token(server.data, "peramban", "editor")
    with httpx.Client(base_url=str(web.base_url), timeout=10) as browser:
        opened = browser.post("/redaksi/masuk", data={"token": editor_token})
        assert opened.status_code == 303 and opened.headers["location"] == "/redaksi/"
        assert browser.get("/api/session").json()["role"] == "editor"
        assert browser.get("/redaksi/aset/app.js").status_code == 200

    # A campaign token through nginx: upload a poster, point a campaign at it; the page
    # nginx serves shows it within seconds, and the poster is cached for good.
    token = make_token(server.data, "tim", "campaign")
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=str(web.base_url), headers=auth, timeout=10) as api:
        change_through_nginx(web, api)


def change_through_nginx(web: httpx.Client, api: httpx.Client) -> None:
    image = io.BytesIO()
    Image.new("RGB", (40, 20), (30, 90, 200)).save(image, "PNG")
    uploaded = api.post(
        "/api/assets", content=image.getvalue(), headers={"Content-Type": "image/png"}
    )
    assert uploaded.status_code == 201, uploaded.text
    src = uploaded.json()["src"]
    record = api.get("/api/records/campaigns/cek-dpt-online").json()
    text = record["text"].replace(
        "checked: press", f"checked: press\nimage:\n  src: {src}\n  alt: Poster"
    )
    changed = api.put(
        "/api/records/campaigns/cek-dpt-online",
        content=text.encode(),
        headers={"Content-Type": "text/markdown", "If-Match": str(record["revision"])},
    )
    assert changed.status_code == 200, changed.text
    deadline = time.monotonic() + 10
    while src not in web.get("/kampanye/cek-dpt-online/").text:
        assert time.monotonic() < deadline, "the change did not reach the page nginx serves"
        time.sleep(0.1)
    poster = web.get(f"/media/{src}")
    assert poster.status_code == 200 and poster.content == image.getvalue()
    assert poster.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert poster.headers["content-type"] == "image/png"
    phone = web.get(f"/media/@720/{src}")  # narrower than 720 pixels: the same bytes
    assert phone.status_code == 200 and phone.content == image.getvalue()
    assert phone.headers["cache-control"] == "public, max-age=31536000, immutable"

    # The server counts failures under the reader's address, never one a client claims.
    spoofed = web.get(
        "/api/records/stages",
        headers={"Authorization": "Bearer wrong", "X-Forwarded-For": "203.0.113.9"},
    )
    assert spoofed.status_code == 401


UNIT_KEYS = {
    "User": "pantau",
    "ProtectSystem": "strict",
    "ReadWritePaths": "/var/lib/pantau",
    "NoNewPrivileges": "yes",
    "PrivateTmp": "yes",
    "ProtectHome": "yes",
    "Restart": "on-failure",
}


def unit_settings(text: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, value = line.split("=", 1)
            settings[key.strip()] = value.strip()
    return settings


def test_the_systemd_unit_names_what_it_needs() -> None:
    settings = unit_settings((DEPLOY / "pantau.service").read_text())
    for key, value in UNIT_KEYS.items():
        assert settings.get(key) == value, key
    command = settings["ExecStart"].split()
    assert command[1:3] == ["serve", "--data"] and command[3] == "/var/lib/pantau"
    assert "--forwarded-allow-ips" in command


def verify_unit(unit: Path) -> None:
    """`systemd-analyze verify` on a copy of the unit, its ExecStart pointed at this
    checkout's pantau (verify wants the program to exist); skips without systemd-analyze."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the keys are checked above")
    pantau = shutil.which("pantau", path=str(ROOT / ".venv" / "bin")) or shutil.which("pantau")
    if pantau is None:
        pytest.skip("no pantau command to point the unit at")
    unit.write_text(unit.read_text().replace("/opt/pantau/.venv/bin/pantau", pantau))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True
    )
    # verify exits 0 even for a value it ignores; it names the file and line of each.
    problems = [line for line in result.stderr.splitlines() if f"{unit}:" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    unit = tmp_path / "pantau.service"
    shutil.copy(DEPLOY / "pantau.service", unit)
    verify_unit(unit)
