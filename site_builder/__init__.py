"""Pantau site builder: load and validate content, render it with a theme, write the site."""
