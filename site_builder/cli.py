"""The `pantau` command: thin wrappers that open, delegate and translate errors."""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import json
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .build import build as build_site
from .errors import ContentError, PantauError
from .i18n import LANGUAGES, _, from_environment, ngettext, set_language
from .progress import Reporter, reporter

# The models (pydantic) and the loader are imported by the commands that use them: a build
# that finds nothing changed should not wait for them to load.


def kinds() -> dict[str, str]:
    """Record kinds as `pantau new` names them ('stage') -> their collection ('stages')."""
    from .models import COLLECTIONS

    return {spec.kind: name for name, spec in COLLECTIONS.items()}


class LazyChoice(click.Choice):  # type: ignore[type-arg]
    """A click.Choice whose choices are found when first needed (they come from modules that
    most commands need not import)."""

    def __init__(self, find: Callable[[], Iterable[str]]) -> None:
        self._find = find
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return tuple(self._find())

    @choices.setter
    def choices(self, _value: object) -> None:
        pass  # set by click.Choice.__init__; the choices are always found anew


content_option = click.option(
    "--content",
    "content_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("content"),
    show_default=True,
    help="The content folder.",
)

#: The port a local server listens on, 127.0.0.1 only (preview, dev).
port_option = click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port on 127.0.0.1 (0: any free one).",
)


def _report(exc: PantauError) -> None:
    """Print a PantauError as clean lines on stderr and exit 1."""
    if isinstance(exc, ContentError):
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        count = len(exc.problems)
        found = ngettext("{count} problem found.", "{count} problems found.", count)
        click.echo(found.format(count=count), err=True)
        sys.exit(1)
    if _verbose():
        traceback.print_exc()
    click.echo(_("Error: {reason}").format(reason=exc), err=True)
    sys.exit(1)


def _verbose() -> bool:
    context = click.get_current_context()
    return bool(context.meta.get(VERBOSE) or context.find_root().params.get("verbose"))


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print a PantauError as clean lines on stderr and exit 1; tracebacks only with -v."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PantauError as exc:
            _report(exc)

    return run


VERBOSE = "pantau.verbose"
QUIET = "pantau.quiet"


def quiet() -> bool:
    """Whether the running command was given --quiet."""
    return bool(click.get_current_context().meta.get(QUIET))


def progress() -> Reporter:
    """The progress display for the running command (see ``site_builder.progress``)."""
    return reporter(quiet())


def _name(context: click.Context) -> str:
    """'pantau sync pull', however the program was started."""
    names: list[str] = []
    while context.parent is not None:
        names.insert(0, context.info_name or "")
        context = context.parent
    return " ".join(["pantau", *names])


def staff_command(command: Callable[..., Any]) -> Callable[..., Any]:
    """A command staff run by hand or from a script: --quiet and --verbose, errors reported as
    with ``reports_errors``, and an unexpected error said in one sentence (its traceback
    with --verbose) instead of a traceback."""

    @wraps(command)
    def run(*args: Any, quiet: bool = False, verbose: bool = False, **kwargs: Any) -> Any:
        context = click.get_current_context()
        context.meta[QUIET] = quiet
        context.meta[VERBOSE] = verbose
        try:
            return command(*args, **kwargs)
        except PantauError as exc:
            _report(exc)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if _verbose():
                traceback.print_exc()
            click.echo(
                _(
                    "Error: {command} stopped on an unexpected internal error ({kind}); run it "
                    "again with --verbose to see the details."
                ).format(command=_name(context), kind=type(exc).__name__),
                err=True,
            )
            sys.exit(1)

    run = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="Show the traceback of an unexpected error (without it: one sentence).",
    )(run)
    return click.option(
        "-q",
        "--quiet",
        is_flag=True,
        help="Print only the summary line (and any errors): no progress bar, no notes.",
    )(run)


def _choose_language(context: click.Context, _param: click.Parameter, value: str | None) -> None:
    """--lang given: messages in that language from here on; on the root command without
    it: the locale's language (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``)."""
    if value is not None:
        set_language(value)
    elif context.parent is None:
        set_language(from_environment())


def lang_option() -> click.Option:
    return click.Option(
        ["--lang"],
        type=click.Choice(LANGUAGES),
        expose_value=False,
        is_eager=True,
        callback=_choose_language,
        help="The language of messages: id (Bahasa Indonesia) or en (English). Default: "
        "from the locale (LANG, LC_ALL, LANGUAGE), English if it names neither. "
        "Example: pantau check --lang id",
    )


def with_lang_option(command: click.Command) -> click.Command:
    """Give a command (and every command under a group) the --lang option, once."""
    if not any(param.name == "lang" for param in command.params):
        command.params.append(lang_option())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_lang_option(sub)
    return command


def help_texts(command: click.Command) -> list[str]:
    """The help of a command and its options, as the catalogue holds them (and, for a
    group, of every command under it)."""
    texts = [_prose(command.help)[0], "Example:"] if command.help else []
    texts += [
        param.help for param in command.params if isinstance(param, click.Option) and param.help
    ]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            texts += help_texts(sub)
    return texts


def _prose(help_text: str) -> tuple[str, str]:
    """A command's help as its prose (what the catalogue translates) and the examples after
    it (a '\\b' block: commands, kept as written)."""
    prose, mark, examples = inspect.cleandoc(help_text).partition("\n\n\b\n")
    return prose, mark + examples


def _translated(help_text: str) -> str:
    prose, examples = _prose(help_text)
    return _(prose) + examples.replace("Example:", _("Example:"), 1)


@contextlib.contextmanager
def _translated_help(command: click.Command) -> Iterator[None]:
    """The help of a command, its options and (for a group's listing) its commands, in the
    current language while its help is written."""
    changed: list[tuple[Any, str]] = []
    subs = list(command.commands.values()) if isinstance(command, click.Group) else []
    for item in (command, *subs, *command.params):
        text = getattr(item, "help", None)
        if text:
            changed.append((item, text))
            item.help = _translated(text) if isinstance(item, click.Command) else _(text)
    try:
        yield
    finally:
        for item, text in changed:
            item.help = text


class PantauCommand(click.Command):
    """A command whose --help is written in the current language."""

    def get_help(self, ctx: click.Context) -> str:
        with _translated_help(self):
            return super().get_help(ctx)


class PantauGroup(click.Group):
    """A group whose commands, and sub-groups' commands, all take --lang, so that it can be
    written anywhere (`pantau --lang id check` and `pantau check --lang id` alike), and
    whose help is written in the current language."""

    command_class = PantauCommand
    group_class = type  # sub-groups are PantauGroups too

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(with_lang_option(cmd), name)

    def get_help(self, ctx: click.Context) -> str:
        with _translated_help(self):
            return super().get_help(ctx)


def parse_today(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            _("'{value}' is not a date; write it as YYYY-MM-DD").format(value=value)
        ) from None


@with_lang_option
@click.group(cls=PantauGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors (any command).")
@click.version_option(package_name="pantau")
def main(verbose: bool) -> None:
    """Pantau: the Kaltim Pilkada 2024 transparency site, from content files to a static site.

    \b
    Example:
        pantau check
        pantau build --today 2024-11-27
        pantau preview
    """


@main.command()
@content_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("public"),
    show_default=True,
    help="Where the site is written (replaced only when the build succeeds).",
)
@click.option(
    "--today",
    callback=parse_today,
    metavar="YYYY-MM-DD",
    help="Reference date for stage status, e.g. 2024-11-27 (default: today in WITA).",
)
@click.option("--full", is_flag=True, help="Render everything, ignoring what the last build kept.")
@click.option(
    "--verify",
    is_flag=True,
    help="After building, build again from scratch in a temporary folder and fail on the "
    "first byte that differs.",
)
@staff_command
def build(content_dir: Path, out: Path, today: dt.date | None, full: bool, verify: bool) -> None:
    """Validate the content and build the static site.

    Only the outputs whose inputs changed since the last build are rendered again, and only
    files whose bytes changed are written; what the last build read is kept beside the
    output folder in .<out>.pantau-state.

    \b
    Example:
        pantau build --content content --out public --today 2024-11-27
        pantau build --verify
    """
    with progress() as report:
        result = build_site(
            content_dir, out, today=today, full=full, verify=verify, progress=report
        )
    click.echo(result.summary())
    if verify:
        click.echo(_("Verified: the incremental output equals a clean build, byte for byte."))


@main.command()
@content_option
@staff_command
def check(content_dir: Path) -> None:
    """Validate the content only; list every problem as file:line: field: message.

    Every problem is listed in one run. A published record (not draft: true) must also be
    ready for readers: no placeholder left from `pantau new`, and at least one source. After
    a successful check, each address Pantau keeps in another form than written (a default
    port, a sharing widget's fragment) is listed as file:line: field: note.

    \b
    Example:
        pantau check --content content
    """
    from .load import load_content

    with progress() as report:
        report(_("Checking the content"), 0, None)
        content = load_content(content_dir, publishing=True)
    count = sum(len(items) for items in content.entries.values())
    click.echo(
        _("{folder}: {records} records and {regions} regions are valid.").format(
            folder=content_dir, records=count, regions=len(content.regions)
        )
    )
    if not quiet():
        for note in content.notes:
            click.echo(str(note))


@main.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("public"),
    show_default=True,
    help="The built site to serve.",
)
@port_option
@reports_errors
def preview(folder: Path, port: int) -> None:
    """Serve the built site on 127.0.0.1 (Ctrl+C stops).

    \b
    Example:
        pantau build && pantau preview --port 8000
    """
    from .preview import make_server

    try:
        server = make_server(folder, "127.0.0.1", port, log_requests=True)
    except OSError as exc:
        raise PantauError(
            _("cannot listen on {address}: {reason}").format(
                address=f"127.0.0.1:{port}", reason=exc.strerror
            )
        ) from None
    click.echo(
        _("Serving {folder} at {address} (Ctrl+C stops)").format(
            folder=folder, address=f"http://127.0.0.1:{server.server_port}/"
        )
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schema"),
    show_default=True,
    help="Folder for the <collection>.schema.json files.",
)
@reports_errors
def schema(out: Path) -> None:
    """Write JSON Schema for each collection, for editors that validate while typing.

    \b
    Example:
        pantau schema --out schema
    """
    from .models import json_schemas

    out.mkdir(parents=True, exist_ok=True)
    for name, document in json_schemas().items():
        path = out / f"{name}.schema.json"
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        click.echo(str(path))


@main.command()
@click.argument("kind", type=LazyChoice(lambda: sorted(kinds())))
@click.argument("slug")
@content_option
@staff_command
def new(kind: str, slug: str, content_dir: Path) -> None:
    """Write a skeleton record to fill in; it starts as a draft (draft: true).

    Delete the draft line once every field holds real text and a source: `pantau check`
    refuses a published record that still holds a placeholder or has no source.

    \b
    Example:
        pantau new campaign ayo-memilih
    """
    from .load import check_slug, read_record
    from .models import COLLECTIONS
    from .skeletons import localised

    collection = kinds()[kind]
    path = content_dir / COLLECTIONS[collection].folder / f"{slug}.md"
    check_slug(slug, str(path), COLLECTIONS[collection])
    existing = [p for p in path.parent.glob(f"{slug}.*") if p.suffix in (".md", ".yaml", ".yml")]
    if existing:
        raise PantauError(_("{path} already exists; choose another slug").format(path=existing[0]))
    text = localised(COLLECTIONS[collection].skeleton)
    read_record(COLLECTIONS[collection], slug, text, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(_("Wrote {path}").format(path=path))


@main.command()
@content_option
@port_option
@reports_errors
def dev(content_dir: Path, port: int) -> None:
    """Build, serve on 127.0.0.1 and rebuild on every change, reloading the open page.

    The site is built into .pantau-dev/ beside the content folder (never into public/).
    Each save of a content or theme file renders only what it changed; the page in the
    browser reloads by itself. A content problem is shown on the page and here, while the
    last good build stays served. Ctrl+C stops.

    \b
    Example:
        pantau dev --content content --port 8000
    """
    from .dev import run

    if not content_dir.is_dir():
        raise PantauError(_("{folder}: no such content folder").format(folder=content_dir))
    # The server stops on Ctrl+C, after which uvicorn raises the signal again; whether that
    # reaches here as KeyboardInterrupt depends on when it lands, so both ways end the same.
    with contextlib.suppress(KeyboardInterrupt):
        run(content_dir, port, lambda text, err: click.echo(text, err=err))
    click.echo(_("Stopped."))
