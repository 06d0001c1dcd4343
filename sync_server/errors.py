"""What can go wrong with a request, said in the server's own terms. The record transactions,
the input checks and the image checks raise these; `http_errors` is the one place that turns
them into HTTP answers."""

from __future__ import annotations

from typing import Any


class RequestError(Exception):
    """A request that cannot be carried out: a sentence, optional details (such as the
    problems `pantau check` would list) and extra fields for the answer's body."""

    def __init__(
        self,
        message: str,
        details: list[Any] | None = None,
        retry_after: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.retry_after = retry_after
        self.extra = extra


class Malformed(RequestError):
    """The request itself is unreadable: a header, a number or a body in the wrong shape."""


class NotFound(RequestError):
    """No such collection, record or revision."""


class Forbidden(RequestError):
    """The caller's role may not do this."""


class Conflict(RequestError):
    """The request is based on a state that is no longer current; `extra` holds the current
    revision and text, so the caller can merge."""


class Invalid(RequestError):
    """The content would break: the details are the problems, each with file, line, field."""


class TooLarge(RequestError):
    """The body or the image is over a limit."""


class Unsupported(RequestError):
    """The body is not of a type the server takes."""


class PreconditionRequired(RequestError):
    """A change sent without saying which revision it is based on."""


class Unavailable(RequestError):
    """The server cannot do this now (starting, or a problem only its administrator can
    fix); nothing was changed."""
