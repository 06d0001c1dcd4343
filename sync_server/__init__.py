"""Pantau sync server (not built yet; see the project's issues)."""
