"""The HTTP surface: Powertools routes that turn requests into calls of queries/actions/stats.

`create_app(ctx)` builds the resolver; functions/api/app.py calls it once per cold start, and
`kemala.api.openapi` calls it with no context to write docs/openapi.json (so the served and committed
documents come from the same code; tests/unit/test_openapi_drift.py checks they agree).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from kemala.api import actions, queries
from kemala.api.access import Principal, principal_from_context
from kemala.api.context import ApiContext
from kemala.api.errors import ApiError, BadRequest, ErrorBody, FieldProblem, InvalidField, PayloadTooLarge
from kemala.api.queries import ListParams
from kemala.api.schemas import (
    AGENCY_ID_PATTERN,
    CATEGORY_PATTERN,
    REGION_PATTERN,
    ActionResult,
    AgencyList,
    CloseBody,
    DelegateBody,
    ReassignBody,
    RejectBody,
    ReplyAccepted,
    ReplyBody,
    ResolveBody,
    Stats,
    TicketHistory,
    TicketPage,
)
from kemala.models.ticket import Ticket, TicketStatus
from kemala.store.dynamo import StorageUnavailable

logger = Logger(child=True)

API_TITLE = "Kemala API"
API_VERSION = "1.0.0"
OPENAPI_PATH = "/openapi.json"
_JSON = "application/json"


def _error_response(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> Response:
    return Response(status, content_type=_JSON, body=body.model_dump_json(), headers=headers)


def _errors(*codes: int) -> dict[int, OpenAPIResponse]:
    meaning = {
        400: "Malformed JSON or a bad cursor",
        401: "No or invalid bearer token (API Gateway answers 401/403 before the function)",
        403: "The role may not do this",
        404: "No such ticket, or not one the caller may see",
        409: "Not allowed in the ticket's current status, a reply is pending, or the ticket changed",
        413: "Body too large",
        415: "The body is not sent as application/json",
        422: "A field is missing or invalid (the error names it)",
        503: "A dependency is unavailable; retry later",
    }
    return {code: {"description": meaning[code], "content": {_JSON: {"model": ErrorBody}}} for code in codes}


IfMatch = Annotated[
    str | None, Header(alias="if-match", description='Pin the version you saw: its ETag, e.g. "7"')
]
READ_ERRORS = _errors(400, 403, 404, 422, 503)
WRITE_ERRORS = _errors(400, 403, 404, 409, 413, 415, 422, 503)


def _if_match(value: str | None) -> int | None:
    """The ticket version a client pins: `If-Match: "7"` (an ETag from GET /tickets/{id}), or `*`/absent."""
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidField("If-Match", 'must be a ticket version as an ETag, e.g. "7"', location="header")
    return int(raw)


def validation_problems(exc: RequestValidationError) -> tuple[int, ErrorBody]:
    """Powertools/pydantic errors as our error body: 400 for unparseable JSON, else 422 naming fields."""
    problems: dict[tuple[str, str], FieldProblem] = {}
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "")
            return 400, ErrorBody(error="malformed_json", message=f"body is not valid JSON: {reason}".strip())
        loc = [str(part) for part in err.get("loc", ())]
        location = loc[0] if loc else "body"
        # A parameter is named by itself (its further loc parts are union members, e.g. from.date);
        # a body field by its path inside the body (items.0.text).
        field = (".".join(loc[1:]) if location == "body" else (loc[1:2] or [""])[0]) or location
        problems.setdefault(
            (location, field),
            FieldProblem(field=field, location=location, problem=str(err.get("msg", "invalid"))),
        )
    found = list(problems.values())
    message = "; ".join(f"{p.field}: {p.problem}" for p in found) or "invalid request"
    return 422, ErrorBody(error="invalid_request", message=message, fields=found)


def refuse_bad_body(event: dict[str, Any], limit: int) -> dict[str, Any] | None:
    """A ready answer for a body that must not reach parsing: over `limit` bytes (413), or not UTF-8 /
    not valid base64 (400). None when the body may go on to validation."""
    body = event.get("body") or ""
    error: ApiError | None = None
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
        if len(raw) > limit:
            error = PayloadTooLarge(f"body is {len(raw)} bytes; the limit is {limit}")
        else:
            raw.decode("utf-8")
    except (binascii.Error, UnicodeError):
        error = BadRequest("body is not UTF-8 text")
    if error is None:
        return None
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": _JSON},
        "body": error.body().model_dump_json(),
        "isBase64Encoded": False,
    }


def create_app(ctx: ApiContext | None) -> APIGatewayHttpResolver:
    """All routes over `ctx` (None only to render the OpenAPI document)."""
    app = APIGatewayHttpResolver(enable_validation=True)

    def context() -> ApiContext:
        if ctx is None:
            raise RuntimeError("create_app(None) only renders the OpenAPI document")
        return ctx

    def caller() -> Principal:
        authorizer = app.current_event.request_context.authorizer
        return principal_from_context(authorizer.get_lambda if authorizer else None)

    # --- errors -------------------------------------------------------------------------------------

    @app.exception_handler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _error_response(exc.status, exc.body())

    @app.exception_handler(RequestValidationError)
    def invalid(exc: RequestValidationError) -> Response:
        status, body = validation_problems(exc)
        return _error_response(status, body)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported(exc: RequestUnsupportedContentType) -> Response:
        body = ErrorBody(
            error="unsupported_media_type", message="send the body as Content-Type: application/json"
        )
        return _error_response(415, body)

    @app.exception_handler(StorageUnavailable)
    def unavailable(exc: StorageUnavailable) -> Response:
        logger.exception("storage unavailable")
        return _error_response(
            503, ErrorBody(error="unavailable", message="storage unavailable; retry later")
        )

    @app.not_found
    def no_route(exc: NotFoundError) -> Response:
        event = app.current_event
        message = f"no route {event.http_method} {event.path}; see {OPENAPI_PATH}"
        return _error_response(404, ErrorBody(error="no_such_route", message=message))

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return _error_response(500, ErrorBody(error="internal_error", message="internal error; it is logged"))

    # --- documentation ------------------------------------------------------------------------------

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi():  # type: ignore[no-untyped-def]  # a bare Response has no schema for Powertools
        return Response(200, content_type=_JSON, body=openapi_json(app))

    # --- reads --------------------------------------------------------------------------------------

    @app.get("/tickets", summary="List tickets", tags=["tickets"], responses=READ_ERRORS)
    def list_tickets(
        status: Annotated[TicketStatus | None, Query()] = None,
        agency: Annotated[str | None, Query(pattern=AGENCY_ID_PATTERN)] = None,
        category: Annotated[str | None, Query(pattern=CATEGORY_PATTERN)] = None,
        region: Annotated[str | None, Query(pattern=REGION_PATTERN)] = None,
        created_from: Annotated[
            date | datetime | None, Query(alias="from", description="created_at >= (date or ISO time)")
        ] = None,
        created_to: Annotated[
            date | datetime | None,
            Query(alias="to", description="created_at <= (a date means its whole day)"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 25,
        cursor: Annotated[
            str | None, Query(max_length=2048, description="next_cursor of the last page")
        ] = None,
    ) -> TicketPage:
        params = ListParams(
            status=status,
            agency=agency,
            category=category,
            region=region,
            created_from=created_from,
            created_to=created_to,
            limit=limit,
            cursor=cursor,
        )
        return queries.list_tickets(context(), caller(), params)

    @app.get(
        "/tickets/<id>", summary="One ticket (ETag: its version)", tags=["tickets"], responses=READ_ERRORS
    )
    def get_ticket(id: str) -> Response[Ticket]:
        ticket = queries.load_visible(context(), caller(), id)
        return Response(200, content_type=_JSON, body=ticket, headers={"ETag": f'"{ticket.version}"'})

    @app.get("/tickets/<id>/history", summary="Audit events", tags=["tickets"], responses=READ_ERRORS)
    def ticket_history(id: str) -> TicketHistory:
        return queries.ticket_history(context(), caller(), id)

    @app.get("/agencies", summary="Agencies", tags=["agencies"], responses=READ_ERRORS)
    def list_agencies() -> AgencyList:
        caller()
        return queries.list_agencies(context())

    @app.get(
        "/stats", summary="Counts and median time to first response", tags=["stats"], responses=READ_ERRORS
    )
    def get_stats(
        created_from: Annotated[date | datetime | None, Query(alias="from")] = None,
        created_to: Annotated[date | datetime | None, Query(alias="to")] = None,
    ) -> Stats:
        from kemala.api.stats import compute_stats  # only this route needs it (and `statistics`)

        params = ListParams(created_from=created_from, created_to=created_to)
        return compute_stats(context(), caller(), params)

    # --- actions ------------------------------------------------------------------------------------

    def act(action: Callable[..., ActionResult], id: str, body: Any, if_match: str | None) -> ActionResult:
        return action(context(), caller(), id, body, _if_match(if_match))

    @app.post(
        "/tickets/<id>/delegate",
        summary="Operator: TRIAGE -> ASSIGNED",
        tags=["actions"],
        responses=WRITE_ERRORS,
    )
    def delegate(id: str, body: DelegateBody, if_match: IfMatch = None) -> ActionResult:
        return act(actions.delegate, id, body, if_match)

    @app.post(
        "/tickets/<id>/reassign",
        summary="Operator: to another agency",
        tags=["actions"],
        responses=WRITE_ERRORS,
    )
    def reassign(id: str, body: ReassignBody, if_match: IfMatch = None) -> ActionResult:
        return act(actions.reassign, id, body, if_match)

    @app.post(
        "/tickets/<id>/reject", summary="Agency: not ours -> TRIAGE", tags=["actions"], responses=WRITE_ERRORS
    )
    def reject(id: str, body: RejectBody, if_match: IfMatch = None) -> ActionResult:
        return act(actions.reject, id, body, if_match)

    @app.post(
        "/tickets/<id>/replies",
        summary="Agency or operator: queue a public reply on X",
        tags=["actions"],
        responses={202: {"description": "Queued; the ticket shows it as pending_reply_id"}, **WRITE_ERRORS},
    )
    def reply(id: str, body: ReplyBody, if_match: IfMatch = None) -> Response[ReplyAccepted]:
        accepted = actions.request_reply(context(), caller(), id, body, _if_match(if_match))
        return Response(202, content_type=_JSON, body=accepted)

    @app.post(
        "/tickets/<id>/resolve", summary="Agency: fixed -> RESOLVED", tags=["actions"], responses=WRITE_ERRORS
    )
    def resolve(id: str, body: ResolveBody, if_match: IfMatch = None) -> ActionResult:
        return act(actions.resolve, id, body, if_match)

    @app.post(
        "/tickets/<id>/close",
        summary="Operator: spam, duplicate, not actionable",
        tags=["actions"],
        responses=WRITE_ERRORS,
    )
    def close(id: str, body: CloseBody, if_match: IfMatch = None) -> ActionResult:
        return act(actions.close, id, body, if_match)

    return app


def openapi_json(app: APIGatewayHttpResolver) -> str:
    """The OpenAPI document, with a trailing newline as committed in docs/openapi.json.

    The document's own settings are given here rather than in `create_app`: Powertools' OpenAPI models
    (~60 pydantic classes, about a tenth of the function's init) are then imported only when someone asks
    for the document, not on every cold start."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    schema = app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description="Tickets, triage and public replies for Kemala. Roles, errors and examples: docs/api.md.",
        security_schemes={"bearer": HTTPBearer(description="kemala tokens create prints one (kml_...)")},
        security=[{"bearer": []}],
    )
    return json.dumps(json.loads(schema), indent=2, ensure_ascii=False) + "\n"
