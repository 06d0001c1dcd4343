"""Markdown to safe HTML: markdown-it-pyrs renders, nh3 removes anything executable.

Both the parser and the sanitiser are built once, here, and reused for every body: building
either per call costs more than rendering a short body.
"""

from __future__ import annotations

import re
import unicodedata
from html import unescape

import nh3
from markdown_it_pyrs import MarkdownIt

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h2", "h3", "h4",
    "h5", "h6", "hr", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "h5": {"id"},
    "h6": {"id"},
    "td": {"align", "style"},
    "th": {"align", "style"},
}
URL_SCHEMES = {"http", "https", "mailto"}
# Table alignment arrives as style="text-align:right"; every other CSS property is dropped.
ALLOWED_STYLE_PROPERTIES = {"text-align"}

_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    link_rel="noopener noreferrer",
    strip_comments=True,
    filter_style_properties=ALLOWED_STYLE_PROPERTIES,
)

# CommonMark (raw HTML included: nh3 cleans it) plus GFM tables. Plugins python-markdown never
# had (strikethrough, linkify) stay off, and heading_anchors writes GitHub-style ids, not the
# toc extension's, so _headings() below gives headings their ids.
_PARSER = MarkdownIt("commonmark").enable("table")
# Only for the rare body that also holds raw <h1>-<h6> HTML: "sourcepos" marks every block the
# parser made with data-sourcepos (nh3 drops it), so the heading pass leaves raw HTML headings
# alone, as python-markdown did. It makes rendering and cleaning ~25 % slower, hence not always.
_MARKING_PARSER = MarkdownIt("commonmark").enable_many(["table", "sourcepos"])

# Raw HTML passes through verbatim, so a body without "<h1".."<h6" has no raw heading.
_RAW_HEADING = re.compile(r"<h[1-6]", re.IGNORECASE)
_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>", re.DOTALL)
_MARKED_HEADING = re.compile(r'<h([1-6]) data-sourcepos="[^"]*">(.*?)</h\1>', re.DOTALL)
# markdown-it refuses a link to javascript:, vbscript:, file: or data: and prints its Markdown,
# URL included, as text. python-markdown made the link and nh3 dropped the href: to keep that
# (and the URL out of the page), such a destination becomes "blocked:", a scheme nh3 drops, and
# such an autolink goes. _maybe_refused() picks the few bodies worth that pass.
_DESTINATION = re.compile(
    r"(?P<lead>\]\(\s*|^ {0,3}\[(?:[^\]\\\n]|\\.)+\]:\s*)"
    r"(?P<url><[^<>\n]*>|(?:[^\s()<>\\]|\\.|\((?:[^\s()\\]|\\.)*\))+)"
    r"|<(?P<autolink>[A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\s]*)>",
    re.MULTILINE,
)
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_REFUSED_SCHEMES = ("javascript:", "vbscript:", "file:", "data:")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_NOT_WORD = re.compile(r"[^\w\s-]")
_SEPARATORS = re.compile(r"[-\s]+")
_COUNTED = re.compile(r"^(.*)_([0-9]+)$")


def slugify(text: str) -> str:
    """python-markdown's toc slug: accents stripped, non-word characters removed, lowercase,
    each run of spaces and hyphens one hyphen ("Hasil & Sengketa" -> "hasil-sengketa")."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = _NOT_WORD.sub("", text).strip().lower()
    return _SEPARATORS.sub("-", text)


def _unique(slug: str, used: set[str]) -> str:
    """python-markdown's toc rule: a taken (or empty) id gets _1, _2, ... appended."""
    if slug in used or not slug:
        counted = _COUNTED.match(slug)
        base, count = (counted.group(1), int(counted.group(2))) if counted else (slug, 0)
        count += 1
        while f"{base}_{count}" in used:
            count += 1
        slug = f"{base}_{count}"
    used.add(slug)
    return slug


def _maybe_refused(text: str) -> bool:
    """Whether the text could hold a refused link: a colon after "script", "file", "data" or a
    backslash, or an entity that could spell a scheme ("&#106;avascript:", "javascript&colon;").
    str.find is far quicker than a case-insensitive regex over the whole body."""
    at = text.find(":")
    while at != -1:
        if text[max(at - 6, 0) : at].lower().endswith(("script", "file", "data", "\\")):
            return True
        at = text.find(":", at + 1)
    at = text.find("&")
    while at != -1:
        if text[at + 1 : at + 6].lower().startswith(("#", "colon")):
            return True
        at = text.find("&", at + 1)
    return False


def _refused(url: str) -> bool:
    """Whether markdown-it would refuse this link destination (after escapes and entities)."""
    return unescape(_ESCAPED.sub(r"\1", url)).strip().lower().startswith(_REFUSED_SCHEMES)


def _block_refused(match: re.Match[str]) -> str:
    if match["autolink"] is not None:
        return "" if _refused(match["autolink"]) else match[0]
    url = match["url"]
    if url.startswith("<"):
        url = url[1:-1]
    return match["lead"] + "blocked:" if _refused(url) else match[0]


def _headings(rendered: str, heading: re.Pattern[str]) -> str:
    """Shift Markdown headings down one level (h1 is the page title; capped at h6) and give
    each the id python-markdown's toc extension (baselevel 2) gave it."""
    if "<h" not in rendered:
        return rendered
    used: set[str] = set()

    def shift(match: re.Match[str]) -> str:
        level = min(int(match.group(1)) + 1, 6)
        inner = match.group(2)
        text = unescape(_TAG.sub("", _COMMENT.sub("", inner)))
        slug = _unique(slugify(text), used)
        return f'<h{level} id="{slug}">{inner}</h{level}>'

    return heading.sub(shift, rendered)


def sanitise(html: str) -> str:
    """Keep only harmless markup: no script, no event handler, no javascript: URL."""
    return _CLEANER.clean(html)


def render_markdown(text: str) -> str:
    """Render a record body: tables, heading anchors; headings start at h2 (h1 is the title)."""
    if not text.strip():
        return ""
    if _maybe_refused(text):
        text = _DESTINATION.sub(_block_refused, text)
    if _RAW_HEADING.search(text):
        return sanitise(_headings(_MARKING_PARSER.render(text, xhtml=False), _MARKED_HEADING))
    return sanitise(_headings(_PARSER.render(text, xhtml=False), _HEADING))
