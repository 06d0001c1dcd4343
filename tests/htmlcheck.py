"""A small HTML reader for tests: links, resources, title and lang of a page."""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit


class PageFacts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.lang: str | None = None
        self.title = ""
        self._in_title = False
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "html":
            self.lang = attributes.get("lang")
        if tag == "title":
            self._in_title = True
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        for name in ("href", "src"):
            value = attributes.get(name)
            if value is not None and tag != "base":
                self.links.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def read_page(html: str) -> PageFacts:
    facts = PageFacts()
    facts.feed(html)
    return facts


def internal_target(page_path: str, link: str) -> str | None:
    """The site path a relative link points at, or None for external and in-page links."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or link.startswith("#") or link.startswith("/"):
        return None if (parts.scheme or parts.netloc or link.startswith("#")) else link
    here = posixpath.dirname(page_path)
    return posixpath.normpath(posixpath.join(here, unquote(parts.path)))
