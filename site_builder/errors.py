"""The exceptions a user can meet, and the one shape every content problem is reported in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the content: where it is, which field, and what is wrong."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.path}:{self.line}:{field} {self.message}"

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "field": self.field, "message": self.message}


class PantauError(Exception):
    """An error the command line prints as one clean message and exits 1 on."""


class ContentError(PantauError):
    """The content has one or more problems; all of them are listed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class TemplateError(PantauError):
    """A theme template failed to render; the message names the template and line."""


class BuildError(PantauError):
    """The build could not be written; the previous output is left as it was."""
