"""`pantau serve`, `pantau token ...` and `pantau sync ...`, added to the builder's command."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from site_builder.cli import (
    LazyChoice,
    content_option,
    main,
    progress,
    quiet,
    reports_errors,
    staff_command,
)
from site_builder.errors import PantauError
from site_builder.i18n import _, ngettext
from site_builder.progress import Reporter

if TYPE_CHECKING:
    from .client import SyncClient
    from .store import Store


def _roles() -> tuple[str, ...]:
    from .auth import ROLES  # the store and the models load with it: only when needed

    return ROLES


data_option = click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data"),
    show_default=True,
    help="The server's data folder (database, content, builds).",
)


@main.command()
@click.option(
    "--content",
    "seed",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Content to start a new data folder from, e.g. ./content (default: the shipped content).",
)
@data_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on, e.g. 0.0.0.0 for every interface (behind a proxy).",
)
@click.option("--port", type=int, default=8000, show_default=True, help="The port, e.g. 8080.")
@click.option(
    "--max-auth-failures",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Failed authentications of one token per client per minute before answering 429.",
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="Addresses of a reverse proxy whose X-Forwarded-For is trusted, e.g. 127.0.0.1 "
    "behind a local nginx. By default forwarding headers are ignored.",
)
@click.option(
    "--after-build",
    metavar="COMMAND",
    default=None,
    help="A command (no shell) run after every build that goes live, one run at a time, with "
    "PANTAU_LIVE (the live folder), PANTAU_BUILD (the build id) and PANTAU_CHANGED (a file "
    "listing the changed site paths), e.g. 'rsync-to-edges.sh'.",
)
@reports_errors
def serve(
    seed: Path | None,
    data: Path,
    host: str,
    port: int,
    max_auth_failures: int,
    forwarded_allow_ips: str | None,
    after_build: str | None,
) -> None:
    """Run the sync server: the live site at / and the API at /api/.

    \b
    Example:
        pantau token create --name admin --role admin
        pantau serve --data data --port 8000
    """
    from .server import serve as run

    if after_build is not None:
        try:
            words = shlex.split(after_build)
        except ValueError as exc:  # e.g. an unclosed quote
            raise click.BadParameter(str(exc), param_hint="--after-build") from exc
        if not words:
            raise click.BadParameter("the command is empty", param_hint="--after-build")
    run(data, seed, host, port, max_auth_failures, forwarded_allow_ips, after_build)


@main.group()
def token() -> None:
    """Create, list and revoke API tokens.

    \b
    Example:
        pantau token create --name budi --role editor --expires 90
    """


@token.command("create")
@data_option
@click.option("--name", required=True, help="Who the token is for (unique), e.g. budi.")
@click.option(
    "--role",
    type=LazyChoice(_roles),
    required=True,
    help="What the token may edit: admin (campaigns, findings, pages, stages, teams; may also "
    "revert and start a build), editor (findings, stages, teams) or campaign (campaigns, and "
    "their poster images). E.g. --role editor.",
)
@click.option(
    "--expires",
    type=click.IntRange(min=1),
    default=None,
    help="Days until it expires, e.g. 90 (default: never).",
)
@reports_errors
def token_create(data: Path, name: str, role: str, expires: int | None) -> None:
    """Create a token and print it once, alone on the last line.

    \b
    Example:
        pantau token create --data data --name tim-kampanye --role campaign
    """
    from .auth import create_token
    from .server import open_store

    store = open_store(data)
    try:
        value = create_token(store, name, role, expires)
    finally:
        store.close()
    click.echo(
        _("Token for '{name}' ({role}); it is shown only now, store it safely:").format(
            name=name, role=role
        )
    )
    click.echo(value)


@token.command("list")
@data_option
@reports_errors
def token_list(data: Path) -> None:
    """List tokens (never their values).

    \b
    Example:
        pantau token list --data data
    """
    from .auth import token_status
    from .server import open_store

    store = open_store(data)
    try:
        for row in store.tokens():
            click.echo(
                _("{name:20} {role:9} {status:8} created {created}  expires {expires}").format(
                    name=row["name"],
                    role=row["role"],
                    status=_(token_status(row)),
                    created=row["created"],
                    expires=row["expires"] or _("never"),
                )
            )
    finally:
        store.close()


@token.command("revoke")
@data_option
@click.argument("name")
@reports_errors
def token_revoke(data: Path, name: str) -> None:
    """Revoke a token by name; it stops working at once.

    \b
    Example:
        pantau token revoke budi --data data
    """
    from .auth import revoke_token
    from .server import open_store

    store = open_store(data)
    try:
        revoke_token(store, name)
    finally:
        store.close()
    click.echo(_("Revoked '{name}'.").format(name=name))


@main.group("builds")
def builds_group() -> None:
    """List the kept builds, roll the live site back to one, and resume publishing.

    Works on the data folder whether or not the server runs.

    \b
    Example:
        pantau builds list --data data
        pantau builds rollback 41 --data data
        pantau builds resume --data data
    """


def _open_data(data: Path) -> Store:
    """The store of an existing data folder (never a new, empty one)."""
    from .server import DB_NAME, open_store

    if not (data / DB_NAME).is_file():
        raise PantauError(
            _("{data} is not a server's data folder (it has no {db}); pass --data").format(
                data=data, db=DB_NAME
            )
        )
    return open_store(data)


@builds_group.command("list")
@data_option
@reports_errors
def builds_list(data: Path) -> None:
    """List the builds kept complete on disk: when each finished, its trigger, which one is
    live and whether publishing is pinned. Each listed build can be rolled back to.

    \b
    Example:
        pantau builds list --data /var/lib/pantau
    """
    from .builds import kept_builds, read_pin, shown_time

    store = _open_data(data)
    try:
        kept = kept_builds(data, store)
        newest = store.builds(1)
    finally:
        store.close()
    pin = read_pin(data)
    if not kept:
        click.echo(_("No complete build is kept yet: the server makes one when it starts."))
    else:
        header = (_("build"), _("finished"), _("site"), _("trigger"))
        click.echo("{:>6}  {:19}  {:12}  {}".format(*header))
    for build in kept:
        where = _("live, pinned") if build.live and build.pinned else ""
        where = where or (_("live") if build.live else _("kept"))
        when = shown_time(build.row.get("finished") or build.row.get("created"))
        click.echo(f"{build.build:>6}  {when:19}  {where:12}  {build.row.get('trigger') or ''}")
    if pin is not None:
        click.echo(pin.sentence())
        if newest and int(newest[0]["id"]) != pin.build:
            click.echo(
                _("The newest build is {build} ({status}).").format(
                    build=newest[0]["id"], status=newest[0]["status"]
                )
            )
    elif kept:
        click.echo(_("Publishing follows every change; any build listed can be rolled back to."))


@builds_group.command("rollback")
@data_option
@click.argument("build")
@reports_errors
def builds_rollback(data: Path, build: str) -> None:
    """Serve an earlier kept build (BUILD, a number from `pantau builds list`) at once and
    pin publishing to it: the server goes on accepting changes and building, but does not
    publish them until `pantau builds resume`. The pin survives a restart.

    \b
    Example:
        pantau builds rollback 41 --data /var/lib/pantau
    """
    from .builds import rollback

    store = _open_data(data)
    try:
        found = rollback(data, store, build)
    finally:
        store.close()
    click.echo(
        _(
            "Build {build} is live again and publishing is pinned to it; run "
            "'pantau builds resume' to publish the newest content."
        ).format(build=found.build)
    )


@builds_group.command("resume")
@data_option
@reports_errors
def builds_resume(data: Path) -> None:
    """Unpin publishing after a rollback: the running server publishes the newest content
    within a few seconds (a stopped one when it starts).

    \b
    Example:
        pantau builds resume --data /var/lib/pantau
    """
    from .builds import resume

    _open_data(data).close()
    pin = resume(data)
    if pin is None:
        click.echo(_("Publishing was not pinned; nothing to resume."))
    else:
        click.echo(
            _(
                "Publishing resumed (it was pinned to build {build}): the server publishes the "
                "newest content within a few seconds."
            ).format(build=pin.build)
        )


@main.command("backup")
@data_option
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@staff_command
def backup_command(data: Path, dest: Path) -> None:
    """Copy the data folder into DEST (new or empty), safely while the server runs.

    The database is copied with SQLite's online backup API (one consistent snapshot), with
    the content and its media; DEST/manifest.json lists counts and each file's SHA-256.

    \b
    Example:
        pantau backup --data data backups/2024-11-27
    """
    from .backup import backup

    with progress() as report:
        summary = backup(data, dest, report)
    click.echo(_("Backed up {summary} into {dest}.").format(summary=summary.describe(), dest=dest))


@main.command("restore")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The data folder to create (it must not exist or be empty), e.g. data-restored.",
)
@click.argument("src", type=click.Path(file_okay=False, path_type=Path))
@staff_command
def restore_command(data: Path, src: Path) -> None:
    """Restore a backup made by `pantau backup` into a new data folder.

    Every file is checked against the manifest's SHA-256 and the database with SQLite's
    integrity check before anything is put in place; then start the server on it.

    \b
    Example:
        pantau restore --data data-new backups/2024-11-27
        pantau serve --data data-new
    """
    from .backup import restore

    with progress() as report:
        summary = restore(src, data, report)
    click.echo(_("Restored {summary} into {data}.").format(summary=summary.describe(), data=data))


def read_token(token_file: Path | None) -> str:
    value = os.environ.get("PANTAU_TOKEN", "").strip()
    if not value and token_file is not None:
        try:
            value = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PantauError(
                _("cannot read the token file {path}: {reason}").format(
                    path=token_file, reason=exc.strerror
                )
            ) from None
    if not value:
        raise PantauError(_("no token: set PANTAU_TOKEN or pass --token-file"))
    return value


server_option = click.option(
    "--server",
    envvar="PANTAU_SERVER",
    help="The sync server, e.g. http://127.0.0.1:8000; without this option it is read from "
    "the PANTAU_SERVER environment variable.",
)
token_file_option = click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A file holding your token, e.g. ~/.pantau-token (used when PANTAU_TOKEN is not "
    "set; keep it readable by you only).",
)


@main.group()
def sync() -> None:
    """Sync your own copy of content/ with the server.

    \b
    Example:
        export PANTAU_TOKEN=...
        pantau sync pull --server http://127.0.0.1:8000
        pantau sync push --server http://127.0.0.1:8000
    """


@sync.command("status")
@content_option
@staff_command
def sync_status(content_dir: Path) -> None:
    """List records changed, added or deleted here since the last sync (no network needed).

    \b
    Example:
        pantau sync status --content content
    """
    from .client import describe_status

    for line in describe_status(content_dir):
        click.echo(line)


def _client(
    content_dir: Path, server: str | None, token_file: Path | None, report: Reporter
) -> SyncClient:
    from .client import SyncClient

    if not server:
        raise PantauError(_("no server: pass --server URL or set PANTAU_SERVER"))
    content_dir.mkdir(parents=True, exist_ok=True)
    client = SyncClient(
        content_dir, server, read_token(token_file), say=report.say, progress=report
    )
    client.notes = not quiet()  # work that went well; problems and conflicts are always said
    return client


@sync.command("push")
@content_option
@server_option
@token_file_option
@staff_command
def sync_push(content_dir: Path, server: str | None, token_file: Path | None) -> None:
    """Send local changes, each with the revision it was based on.

    \b
    Example:
        pantau sync push --content content --server http://127.0.0.1:8000
    """
    with progress() as report:
        client = _client(content_dir, server, token_file, report)
        try:
            sent = client.push()
        finally:
            client.close()
    uploaded = ngettext("{count} image uploaded.", "{count} images uploaded.", client.uploaded)
    click.echo(
        _("{count} change(s) pushed.").format(count=sent)
        + (" " + uploaded.format(count=client.uploaded) if client.uploaded else "")
    )
    if client.failed or client.state.conflicts:
        raise PantauError(
            _(
                "{refused} change(s) refused and {conflicts} conflict(s) to resolve; see above"
            ).format(refused=client.failed, conflicts=len(client.state.conflicts))
        )


def _pull_with_images(
    folder: Path, server: str | None, token_file: Path | None
) -> tuple[SyncClient, int, int]:
    """Apply the server's changes to ``folder``, then fetch the images its campaigns name
    and lack: the client (closed), how many changes were applied and images fetched."""
    with progress() as report:
        client = _client(folder, server, token_file, report)
        try:
            return client, client.pull(), client.fetch_media()
        finally:
            client.close()


@sync.command("pull")
@content_option
@server_option
@token_file_option
@staff_command
def sync_pull(content_dir: Path, server: str | None, token_file: Path | None) -> None:
    """Apply the server's changes since the last pull to files not changed here.

    \b
    Example:
        pantau sync pull --content content --server http://127.0.0.1:8000
    """
    client, applied, media = _pull_with_images(content_dir, server, token_file)
    fetched = ngettext("{count} image downloaded.", "{count} images downloaded.", media)
    click.echo(
        _("{count} change(s) applied; at sequence {seq}.").format(
            count=applied, seq=client.state.last_seq
        )
        + (" " + fetched.format(count=media) if media else "")
    )
    if client.state.conflicts:
        raise PantauError(conflicts_left(len(client.state.conflicts)))


@sync.command("clone")
@server_option
@token_file_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@staff_command
def sync_clone(server: str | None, token_file: Path | None, folder: Path) -> None:
    """Make a new staff copy in FOLDER: the settings, every record, the images campaigns
    show and the sync state, ready for `pantau check`, `build` and `preview` offline.

    \b
    Example:
        pantau sync clone --server http://127.0.0.1:8000 content
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise PantauError(
            _(
                "{folder} is not empty: clone into a new or empty folder, or run "
                "'pantau sync pull --content {folder}' to update a copy"
            ).format(folder=folder)
        )
    client, applied, media = _pull_with_images(folder, server, token_file)
    click.echo(
        _("cloned {files} file(s) and {images} image(s) into {folder}; at sequence {seq}.").format(
            files=applied, images=media, folder=folder, seq=client.state.last_seq
        )
    )
    if client.state.conflicts:
        raise PantauError(conflicts_left(len(client.state.conflicts)))


def conflicts_left(count: int) -> str:
    return _("{count} conflict(s) to resolve; see above").format(count=count)


__all__ = ["main"]
