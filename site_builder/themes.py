"""Find themes and build the Jinja2 environment: user override -> theme -> built-in default."""

from __future__ import annotations

import functools
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import jinja2

from . import deps
from .dates import angka, persen, rentang, rentang_singkat, tanggal, tanggal_jam
from .errors import PantauError
from .i18n import _
from .markup import render_markdown
from .pages import GLOBALS, folder_of, relative_link
from .state import TRUST_AFTER_SECONDS

_PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """A folder shipped with Pantau: from a wheel, or from the source checkout."""
    for candidate in (_PACKAGE / "_shipped" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise PantauError(
        _("the shipped folder '{name}' is missing from this installation").format(name=name)
    )


def theme_dir(theme: str, content_root: Path) -> Path:
    """A theme by name (under the shipped themes/) or by path relative to the content folder."""
    by_path = (content_root / theme).resolve()
    if "/" in theme or theme.startswith("."):
        if not by_path.is_dir():
            raise PantauError(
                _("{file}: theme: no theme folder at {path}").format(
                    file=content_root / "site.yaml", path=by_path
                )
            )
        return by_path
    folder = shipped("themes") / theme
    if not folder.is_dir():
        raise PantauError(
            _("{file}: theme: unknown theme '{theme}'; themes available: {available}").format(
                file=content_root / "site.yaml",
                theme=theme,
                available=", ".join(sorted(p.name for p in shipped("themes").iterdir())),
            )
        )
    return folder


def template_dirs(theme: Path, content_root: Path) -> list[Path]:
    """Where templates are looked up, most specific first."""
    builtin = shipped("themes") / "default" / "templates"
    dirs = [content_root / "templates", theme / "templates", builtin]
    unique: list[Path] = []
    for folder in dirs:
        if folder.is_dir() and folder.resolve() not in unique:
            unique.append(folder.resolve())
    return unique


def static_dirs(theme: Path, content_root: Path) -> list[Path]:
    """Static asset folders, least specific first, so later ones override earlier files."""
    dirs = [shipped("themes") / "default" / "static", theme / "static", content_root / "static"]
    unique: list[Path] = []
    for folder in dirs:
        if folder.is_dir() and folder.resolve() not in unique:
            unique.append(folder.resolve())
    return unique


@jinja2.pass_context
def relative(context: Any, target: str) -> str:
    """The link from the page being rendered to a path of the site (relative, so it works
    from any server path, a zip or file://)."""
    return relative_link(folder_of(context["page_path"]), target)


class _Loader(jinja2.FileSystemLoader):
    """A file loader whose compiled templates count as out of date while their file is too
    recent for its modification time to tell two writes apart. A template found up to date
    is not looked at again until the next build (``new_build``): a site's pages include the
    same few templates thousands of times."""

    def __init__(self, searchpath: list[str]) -> None:
        super().__init__(searchpath)
        self._checked: set[str] = set()

    def new_build(self) -> None:
        """Look at every template's file again (called as each build starts, after the
        build's fingerprints of the templates were taken or before they are)."""
        self._checked.clear()  # in place: the compiled templates' checks hold this set

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        # A file of this name added since to a folder searched first takes its place.
        pieces = jinja2.loaders.split_template_path(template)
        before: list[str] = []
        for folder in self.searchpath:
            if filename.startswith(os.path.join(folder, "")):
                break
            before.append(os.path.join(folder, *pieces))

        checked = self._checked

        def fresh() -> bool:
            if filename in checked:
                return True
            try:
                recent = os.stat(filename).st_mtime > time.time() - TRUST_AFTER_SECONDS
            except OSError:
                return False
            if any(os.path.exists(path) for path in before):
                return False
            if recent or not uptodate():
                return False
            checked.add(filename)
            return True

        return source, filename, fresh


class TrackingEnvironment(jinja2.Environment):
    """An environment that notes every template a render loads (``t:<name>``), including
    those it extends, includes or imports, as a dependency of the output being rendered."""

    def _load_template(self, name: Any, globals: Any) -> jinja2.Template:
        if isinstance(name, str):
            deps.note("t:" + name)
        return super()._load_template(name, globals)


def make_environment(dirs: list[Path]) -> jinja2.Environment:
    """A Jinja environment for these template folders. Environments are kept per folder list,
    so a server rebuilding the site reuses compiled templates (edits on disk still reload).
    Nothing that belongs to one build is stored on it: builds pass their values with each
    render."""
    env = _environment(tuple(dirs))
    if isinstance(env.loader, _Loader):
        env.loader.new_build()
    return env


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's cache of compiled templates in the user's own folder of the system's temporary
    folder (a fresh ``pantau build`` then compiles only templates whose text changed); none
    where that folder cannot be made private to the user."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (RuntimeError, OSError):
        return None


@functools.lru_cache(maxsize=8)
def _environment(dirs: tuple[Path, ...]) -> jinja2.Environment:
    env = TrackingEnvironment(
        loader=_Loader([str(d) for d in dirs]),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        tanggal=tanggal,
        tanggal_jam=tanggal_jam,
        markdown=render_markdown,
        rel=relative,
        angka=angka,
        persen=persen,
    )
    env.globals["rentang"] = rentang
    env.globals["rentang_singkat"] = rentang_singkat
    env.globals.update(GLOBALS)
    return env


def template_fingerprint(env: jinja2.Environment, name: str) -> str:
    """Which file a template name resolves to and a hash of its text ("-" if none does)."""
    if env.loader is None:
        return "-"
    try:
        source, filename, _ = env.loader.get_source(env, name)
    except jinja2.TemplateNotFound:
        return "-"
    return hashlib.blake2b(f"{filename}\0{source}".encode(), digest_size=16).hexdigest()
