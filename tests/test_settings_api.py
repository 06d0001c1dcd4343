"""site.yaml and regions.yaml through the API: admin only, with history, published, in the
changes feed; against a real server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import REGIONS, SITE
from .server import ServerProcess, make_token

pytestmark = pytest.mark.slow


@pytest.fixture
def server(scratch_content: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", scratch_content).start()
    yield process
    process.stop()


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client(make_token(server.data, "ani", "admin")) as client:
        yield client


def wait_for_build(client: httpx.Client, build: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        builds = {b["id"]: b for b in client.get("/api/builds").json()["builds"]}
        if builds.get(build, {}).get("status") in ("success", "failed"):
            assert builds[build]["status"] == "success", builds[build]
            return
        time.sleep(0.05)
    raise AssertionError(f"build {build} did not finish")


def test_admin_changes_site_settings_with_history_feed_and_site(
    server: ServerProcess, admin: httpx.Client
) -> None:
    current = admin.get("/api/settings/site")
    assert current.status_code == 200, current.text
    assert current.json()["text"] == SITE
    revision = current.json()["revision"]
    seq = admin.get("/api/health").json()["last_seq"]

    text = SITE.replace("Situs Uji", "Situs Pantau Baru")
    put = admin.put(
        "/api/settings/site",
        content=text.encode(),
        headers={"If-Match": str(revision), "Content-Type": "application/yaml"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["revision"] == revision + 1
    wait_for_build(admin, put.json()["build"]["id"])

    assert "Situs Pantau Baru" in httpx.get(f"{server.url}/").text
    assert (server.data / "content" / "site.yaml").read_text() == text
    feed = admin.get("/api/changes", params={"since": seq}).json()["changes"]
    # The first change through the API records the file as it was, then the change.
    assert [(c["collection"], c["slug"], c["action"], c["text"]) for c in feed] == [
        ("settings", "site", "import", SITE),
        ("settings", "site", "update", text),
    ]
    history = admin.get("/api/settings/site/history").json()["revisions"]
    assert [row["text"] for row in history] == [SITE, text]
    assert history[-1]["author"] == "ani"

    stale = admin.put(
        "/api/settings/site",
        content=SITE.encode(),
        headers={"If-Match": str(revision), "Content-Type": "application/yaml"},
    )
    assert stale.status_code == 409 and stale.json()["text"] == text


def test_only_admin_changes_settings(server: ServerProcess) -> None:
    for role in ("editor", "campaign"):
        with server.client(make_token(server.data, f"t-{role}", role)) as client:
            revision = client.get("/api/settings/site").json()["revision"]
            answer = client.put(
                "/api/settings/site",
                content=SITE.replace("Situs Uji", "Dibajak").encode(),
                headers={"If-Match": str(revision), "Content-Type": "application/yaml"},
            )
        assert answer.status_code == 403, answer.text
        assert "only admin" in answer.json()["error"]
    assert "Dibajak" not in (server.data / "content" / "site.yaml").read_text()


def test_settings_are_validated_and_regions_stay_referenced(
    server: ServerProcess, admin: httpx.Client
) -> None:
    revision = admin.get("/api/settings/regions").json()["revision"]
    headers = {"If-Match": str(revision), "Content-Type": "application/yaml"}

    # The campaign names samarinda: removing that region is refused.
    without = REGIONS[: REGIONS.index("  - slug: samarinda")]
    refused = admin.put("/api/settings/regions", content=without.encode(), headers=headers)
    assert refused.status_code == 422, refused.text
    assert any("campaigns/ayo-memilih.md" in d["path"] for d in refused.json()["details"])

    broken = admin.put(
        "/api/settings/site", content=b"title: [\n", headers={**headers, "If-Match": "1"}
    )
    assert broken.status_code == 422, broken.text
    assert admin.get("/api/settings/regions").json()["revision"] == revision
    assert (server.data / "content" / "regions.yaml").read_text() == REGIONS
    assert admin.get("/api/settings/other").status_code == 404
