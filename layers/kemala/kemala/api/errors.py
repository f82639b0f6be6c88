"""The API's errors: each has an HTTP status and a stable machine-readable code (docs/api.md).

Logic raises these; the routes module turns them into `{"error", "message", "fields"?}` JSON bodies.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FieldProblem(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on the first error, not at cold start

    field: str
    location: str  # body | query | path | header
    problem: str


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)

    error: str
    message: str
    fields: list[FieldProblem] = []


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, fields: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []

    def body(self) -> ErrorBody:
        return ErrorBody(error=self.code, message=self.message, fields=self.fields)


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


class Unauthenticated(ApiError):
    status = 401
    code = "unauthenticated"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    """The ticket is not in a state that allows the action (HTTP 409)."""

    status = 409
    code = "transition_not_allowed"


class StaleView(Conflict):
    code = "stale_ticket"


class ReplyPending(Conflict):
    code = "reply_pending"


class PayloadTooLarge(ApiError):
    status = 413
    code = "body_too_large"


class InvalidField(ApiError):
    """A well-formed request whose field value is wrong for this ticket (unknown agency, too long ...)."""

    status = 422
    code = "invalid_request"

    def __init__(self, field: str, problem: str, location: str = "body") -> None:
        super().__init__(
            f"{field}: {problem}", [FieldProblem(field=field, location=location, problem=problem)]
        )


class Unavailable(ApiError):
    status = 503
    code = "unavailable"
