"""Domain errors that the edges turn into a friendly message or an HTTP status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of the errors services raise; `msgid` and `params` say it to a person."""

    msgid = "error.generic"

    def __init__(self, message: str = "", *, msgid: str | None = None, **params: Any) -> None:
        super().__init__(message or self.__class__.__name__)
        if msgid is not None:
            self.msgid = msgid
        self.params = params


class NotAllowed(DomainError):
    """The actor may not do this."""

    msgid = "error.not_allowed"


class NotFound(DomainError):
    """The object does not exist, or the actor may not know it does."""

    msgid = "error.not_found"


class InvalidInput(DomainError):
    """The request is malformed or breaks a rule."""

    msgid = "error.invalid_input"


class Conflict(DomainError):
    """The object changed state: the action no longer applies."""

    msgid = "error.conflict"
