"""Serve the live site: the 'live' link the publisher swaps by a rename is resolved once per
request (so an atomic switch takes effect at once, and a request never mixes two builds), and
each file is opened before its size is read, so a file renamed over by a rebuild is still sent
whole, old or new, never cut short. The serving itself is the builder's preview serving:
conditional requests, byte ranges, gzip for text, the site's own 404 page, no hidden files."""

from __future__ import annotations

from pathlib import Path

from starlette.types import ASGIApp

from site_builder.preview import site_app


def live_site(live: Path) -> ASGIApp:
    """The site behind the 'live' link; 404 until the first build has published it."""
    return site_app(live)
