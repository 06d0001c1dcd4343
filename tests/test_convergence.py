"""Two or three staff copies edit offline, push and pull in any order against a real server:
every copy converges, and every edit ends in the final text or in the history (an edit the
other side overrode stays in the history; a conflict is announced to the person who has it)."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sync_server.client import SyncClient

from .server import ServerProcess, make_token

pytestmark = pytest.mark.slow

RECORDS = 2
FIELDS = ("summary", "title")
COUNTER = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    content = Path(__file__).parent.parent / "content"
    process = ServerProcess(tmp_path_factory.mktemp("data") / "data", content).start()
    yield process
    process.stop()


edit = st.tuples(
    st.just("edit"),
    st.integers(0, 2),
    st.integers(0, RECORDS - 1),
    st.sampled_from(FIELDS),
)
sync = st.tuples(st.sampled_from(["push", "pull"]), st.integers(0, 2))
operations = st.lists(st.one_of(edit, sync), min_size=1, max_size=14)


def stage_text(title: str, summary: str) -> str:
    front = {"title": title, "phase": "pasca", "start": "2025-01-01", "summary": summary}
    front["sources"] = [{"title": "Sumber uji", "url": "https://example.org/uji"}]
    return f"---\n{yaml.safe_dump(front, allow_unicode=True)}---\nIsi.\n"


def set_field(path: Path, field: str, value: str) -> None:
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    data = yaml.safe_load(front)
    data[field] = value
    path.write_text(f"---\n{yaml.safe_dump(data, allow_unicode=True)}---\n{body}")


@settings(
    max_examples=int(os.environ.get("CONVERGENCE_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(clients=st.integers(2, 3), steps=operations)
def test_copies_converge_and_no_edit_is_lost(
    server: ServerProcess, clients: int, steps: list[tuple]
) -> None:
    run = next(COUNTER)
    token = make_token(server.data, f"staf{run}", "editor")
    slugs = [f"konvergen-{run}-{r}" for r in range(RECORDS)]
    said: list[list[str]] = [[] for _ in range(clients)]
    with tempfile.TemporaryDirectory(prefix="pantau-copies-") as tmp:
        copies = []
        for index in range(clients):
            folder = Path(tmp) / f"staf{index}"
            copies.append(SyncClient(folder, server.url, token, say=said[index].append))
        try:
            first = copies[0]
            first.pull()
            for slug in slugs:
                path = first.root / "stages" / f"{slug}.md"
                path.write_text(stage_text(f"Judul {slug}", f"Awal {slug}"), encoding="utf-8")
            first.push()
            for copy in copies:
                copy.pull()

            pending: dict[tuple[int, int, str], str] = {}  # what each copy wrote, unpushed
            must_survive: list[tuple[str, str]] = []  # (slug, marker)
            for step in steps:
                kind, index = step[0], step[1] % clients
                copy = copies[index]
                if kind == "edit":
                    record, field = step[2], step[3]
                    marker = f"Ubah{next(COUNTER)}"
                    set_field(copy.root / "stages" / f"{slugs[record]}.md", field, marker)
                    pending[(index, record, field)] = marker  # an earlier unpushed one is gone
                elif kind == "push":
                    resolve(copy)
                    copy.push()
                    for (who, record, _), marker in list(pending.items()):
                        # An edit the server refused as a conflict stays this person's own,
                        # unpushed: announced to them, theirs to keep or to overwrite.
                        if who == index and f"stages/{slugs[record]}" not in copy.state.conflicts:
                            must_survive.append((slugs[record], marker))
                            del pending[(who, record, _)]
                else:
                    copy.pull()

            settle(copies)
            for (_, record, _), marker in pending.items():
                must_survive.append((slugs[record], marker))

            with server.client(token) as http:
                for slug in slugs:
                    current = http.get(f"/api/records/stages/{slug}").json()["text"]
                    for copy in copies:
                        mine = (copy.root / "stages" / f"{slug}.md").read_text(encoding="utf-8")
                        assert mine == current, (slug, copy.root.name)
                        assert not list((copy.root / "stages").glob(f"{slug}.server.*"))
                history = {
                    slug: "\n".join(
                        row["text"]
                        for row in http.get(f"/api/records/stages/{slug}/history").json()[
                            "revisions"
                        ]
                    )
                    for slug in slugs
                }
            if any(
                "conflict" in line.lower() or "konflik" in line.lower()
                for lines in said
                for line in lines
            ):
                event("conflict announced")
            for slug, marker in must_survive:
                assert marker in history[slug], (slug, marker, said)
        finally:
            for copy in copies:
                copy.close()


def resolve(copy: SyncClient) -> None:
    """What a person told of a conflict does here: keep their own version of the record and
    delete the server's copy written beside it (the server's stays in the history)."""
    for conflict in (copy.root / "stages").glob("*.server.md"):
        conflict.unlink()


def settle(copies: list[SyncClient]) -> None:
    """Everyone pulls, resolves and pushes until nothing changes any more."""
    for _ in range(8):
        before = [snapshot(copy) for copy in copies]
        for copy in copies:
            copy.pull()
            resolve(copy)
            copy.push()
        for copy in copies:
            copy.pull()
        if [snapshot(copy) for copy in copies] == before and len(set(map(str, before))) == 1:
            return
    raise AssertionError("the copies did not converge in 8 rounds")


def snapshot(copy: SyncClient) -> dict[str, str]:
    return {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted((copy.root / "stages").glob("konvergen-*"))
    }
