"""Find themes and build the Jinja2 environment: user override -> theme -> built-in default."""

from __future__ import annotations

import functools
import posixpath
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes

from .dates import rentang, tanggal, tanggal_jam
from .errors import PantauError
from .markup import render_markdown

_PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """A folder shipped with Pantau: from a wheel, or from the source checkout."""
    for candidate in (_PACKAGE / "_shipped" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise PantauError(f"the shipped folder '{name}' is missing from this installation")


def theme_dir(theme: str, content_root: Path) -> Path:
    """A theme by name (under the shipped themes/) or by path relative to the content folder."""
    by_path = (content_root / theme).resolve()
    if "/" in theme or theme.startswith("."):
        if not by_path.is_dir():
            raise PantauError(f"{content_root / 'site.yaml'}: theme: no theme folder at {by_path}")
        return by_path
    folder = shipped("themes") / theme
    if not folder.is_dir():
        raise PantauError(
            f"{content_root / 'site.yaml'}: theme: unknown theme '{theme}'; "
            f"themes available: {', '.join(sorted(p.name for p in shipped('themes').iterdir()))}"
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
    here = posixpath.dirname(context["page_path"]) or "."
    if target.endswith("/"):
        target += "index.html"
    return posixpath.relpath(target, here)


def make_environment(dirs: list[Path]) -> jinja2.Environment:
    """A Jinja environment for these template folders. Environments are kept per folder list,
    so a server rebuilding the site reuses compiled templates (edits on disk still reload)."""
    return _environment(tuple(dirs))


@functools.lru_cache(maxsize=8)
def _environment(dirs: tuple[Path, ...]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        tanggal=tanggal, tanggal_jam=tanggal_jam, markdown=render_markdown, rel=relative
    )
    env.globals["rentang"] = rentang
    return env


def template_closure(env: jinja2.Environment, name: str) -> frozenset[str]:
    """A template and every template it extends, includes, imports or renders through
    partial("..."), found statically."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += _references(env, current)
    return frozenset(seen)


def _references(env: jinja2.Environment, name: str) -> list[str]:
    loader = env.loader
    if loader is None:
        return []
    source, filename, _ = loader.get_source(env, name)
    cache: dict[tuple[str, str], list[str]] = env.__dict__.setdefault("_pantau_refs", {})
    key = (filename or name, source)
    if key not in cache:
        tree = env.parse(source)
        refs = [ref for ref in meta.find_referenced_templates(tree) if ref]
        for call in tree.find_all(nodes.Call):
            if (
                isinstance(call.node, nodes.Name)
                and call.node.name in ("partial", "partials")
                and call.args
                and isinstance(call.args[0], nodes.Const)
            ):
                refs.append(str(call.args[0].value))
        cache[key] = refs
    return cache[key]
