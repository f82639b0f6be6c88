"""The template's HTTP API on 127.0.0.1: routes, the Lambda authorizer, and API Gateway's v2 payload.

Routes come from the translated AWS::ApiGatewayV2::Api OpenAPI body (what SAM generates from HttpApi
events), so a new function's HttpApi events are served with no change here. Behaviour follows API
Gateway HTTP APIs:
  - route selection: exact path, then `{param}` paths (most static segments first), `{proxy+}`, `$default`;
    the method must match, or the route is ANY; no route → 404 {"message": "Not Found"}.
  - authorizer (REQUEST, payload 2.0): a missing identity source → 401 without calling it; a simple
    response `{"isAuthorized": false}` (or an IAM Deny) → 403; an authorizer error → 500; the result is
    cached by identity source values for `authorizerResultTtlInSeconds`; its context reaches the
    integration as `requestContext.authorizer.lambda`.
  - bodies over 10 MB → 413; a handler error → 500 {"message": "Internal Server Error"}.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from kemala_cli.local.functions import FunctionError, LocalFunction
from kemala_cli.local.intrinsics import Resolver
from kemala_cli.local.template import ACCOUNT_ID, Translated

log = logging.getLogger("kemala.local")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
_ANY = "x-amazon-apigateway-any-method"
_FUNCTION_IN_URI = re.compile(r"arn:aws:lambda:[^:]+:\d+:function:([^/:]+)")


@dataclass(frozen=True)
class Authorizer:
    name: str
    function: str  # logical id
    identity_sources: tuple[str, ...]
    ttl_seconds: int
    simple_responses: bool


@dataclass(frozen=True)
class Route:
    method: str  # upper-case, or ANY
    path: str  # OpenAPI path, or $default
    function: str  # logical id
    authorizer: Authorizer | None

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        if self.path == "$default":
            return {}
        m = _compile(self.path).fullmatch(path)
        return None if m is None else {k: unquote(v) for k, v in m.groupdict().items()}

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        segments = [s for s in self.path.split("/") if s]
        static = sum(1 for s in segments if not s.startswith("{"))
        greedy = any(s.endswith("+}") for s in segments)
        return (self.path != "$default", not greedy, static, self.method != "ANY")


def _compile(path: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("+}"):
            pattern += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            pattern += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


def read_routes(translated: Translated, resolver: Resolver, function_names: dict[str, str]) -> list[Route]:
    """Every route of every HTTP API in the template; `function_names` maps physical name -> logical id."""
    routes: list[Route] = []
    for api_id, resource in translated.of_type("AWS::ApiGatewayV2::Api").items():
        body = (resource.get("Properties") or {}).get("Body")
        if not body:
            log.warning("%s: no OpenAPI body (Target/Route resources are not served locally)", api_id)
            continue
        body = resolver.resolve(body)
        schemes = (body.get("components") or {}).get("securitySchemes") or {}
        authorizers = {
            name: _authorizer(name, spec["x-amazon-apigateway-authorizer"], function_names)
            for name, spec in schemes.items()
            if "x-amazon-apigateway-authorizer" in spec
        }
        default_security = body.get("security") or []
        for path, operations in (body.get("paths") or {}).items():
            for key, op in operations.items():
                if key not in (*_METHODS, _ANY) or "x-amazon-apigateway-integration" not in op:
                    continue
                uri = str(op["x-amazon-apigateway-integration"].get("uri", ""))
                target = _FUNCTION_IN_URI.search(uri)
                if target is None or target.group(1) not in function_names:
                    log.warning("%s %s: integration %s is not a local function", key, path, uri)
                    continue
                security = op.get("security", default_security)
                names = [n for req in security for n in req if n in authorizers]
                routes.append(
                    Route(
                        method="ANY" if key == _ANY else key.upper(),
                        path=path,
                        function=function_names[target.group(1)],
                        authorizer=authorizers[names[0]] if names else None,
                    )
                )
    return sorted(routes, key=lambda r: r.specificity, reverse=True)


def _authorizer(name: str, spec: dict[str, Any], function_names: dict[str, str]) -> Authorizer:
    target = _FUNCTION_IN_URI.search(str(spec.get("authorizerUri", "")))
    if target is None or target.group(1) not in function_names:
        raise ValueError(f"authorizer {name}: {spec.get('authorizerUri')} is not a local function")
    if spec.get("type", "request") != "request" or spec.get("authorizerPayloadFormatVersion", "2.0") != "2.0":
        raise ValueError(f"authorizer {name}: only REQUEST authorizers with payload 2.0 are supported")
    sources = spec.get("identitySource") or []
    if isinstance(sources, str):
        sources = [s.strip() for s in sources.split(",")]
    return Authorizer(
        name=name,
        function=function_names[target.group(1)],
        identity_sources=tuple(sources),
        ttl_seconds=int(spec.get("authorizerResultTtlInSeconds", 300)),
        simple_responses=bool(spec.get("enableSimpleResponses", False)),
    )


@dataclass
class Request:
    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]  # lower-case names, repeated values comma-joined
    body: bytes
    source_ip: str


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str]


def _json_reply(status: int, message: str) -> Reply:
    return Reply(status, {"content-type": "application/json"}, json.dumps({"message": message}).encode(), [])


class HttpApi:
    """Dispatches requests to routes; shared by the HTTP server threads."""

    def __init__(self, routes: list[Route], functions: dict[str, LocalFunction], region: str) -> None:
        self.routes = routes
        self.functions = functions
        self.region = region
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any] | None]] = {}
        self._cache_lock = threading.Lock()

    def handle(self, request: Request) -> Reply:
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return _json_reply(413, "Request Entity Too Large")
        for route in self.routes:
            params = route.match(request.method, request.raw_path)
            if params is not None:
                break
        else:
            return _json_reply(404, "Not Found")
        event = self._event(request, route, params)
        if route.authorizer is not None:
            outcome = self._authorize(route, event)
            if isinstance(outcome, Reply):
                return outcome
            event["requestContext"]["authorizer"] = {"lambda": outcome}
        try:
            result = self.functions[route.function].invoke(event)
        except FunctionError as exc:
            log.error("%s: %s (see its log)", route.route_key, exc)
            return _json_reply(500, "Internal Server Error")
        return _to_reply(result)

    # --- events -----------------------------------------------------------------------------------------

    def _event(self, request: Request, route: Route, params: dict[str, str]) -> dict[str, Any]:
        now = datetime.now(UTC)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": request.raw_path,
            "rawQueryString": request.raw_query,
            "headers": dict(request.headers),
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": "local",
                "domainName": request.headers.get("host", "127.0.0.1"),
                "domainPrefix": "local",
                "http": {
                    "method": request.method,
                    "path": request.raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": request.source_ip,
                    "userAgent": request.headers.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route.route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        if "cookie" in request.headers:
            event["cookies"] = [c.strip() for c in request.headers["cookie"].split(";") if c.strip()]
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        if query:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
        if params:
            event["pathParameters"] = params
        if request.body:
            try:
                event["body"] = request.body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(request.body).decode()
                event["isBase64Encoded"] = True
        return event

    # --- authorizer ---------------------------------------------------------------------------------------

    def _identity(self, authorizer: Authorizer, event: dict[str, Any]) -> list[str] | None:
        values = []
        for source in authorizer.identity_sources:
            kind, _, name = source.removeprefix("$").partition(".")
            if kind == "request":
                where, _, key = name.partition(".")
                bag = {
                    "header": event["headers"],
                    "querystring": event.get("queryStringParameters") or {},
                }.get(where, {})
                value = bag.get(key.lower() if where == "header" else key)
            elif kind == "context":
                value = str(event["requestContext"].get(name, "")) or None
            else:
                value = None
            if not value:
                return None
            values.append(value)
        return values

    def _authorize(self, route: Route, event: dict[str, Any]) -> dict[str, Any] | Reply:
        authorizer = route.authorizer
        assert authorizer is not None
        identity = self._identity(authorizer, event)
        if identity is None:
            return _json_reply(401, "Unauthorized")
        key = (authorizer.name, tuple(identity))
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached and cached[0] > now:
            decision: dict[str, Any] | None = cached[1]
        else:
            request = {
                **{k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")},
                "type": "REQUEST",
                "routeArn": (
                    f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:local/$default/"
                    f"{event['requestContext']['http']['method']}{event['rawPath']}"
                ),
                "identitySource": identity,
            }
            try:
                result = self.functions[authorizer.function].invoke(request)
                decision = _decision(authorizer, result)
            except (FunctionError, ValueError, TypeError, KeyError) as exc:
                log.error("authorizer %s failed: %s", authorizer.name, exc)
                return _json_reply(500, "Internal Server Error")
            if authorizer.ttl_seconds > 0:
                with self._cache_lock:
                    self._cache[key] = (now + authorizer.ttl_seconds, decision)
        if decision is None:
            return _json_reply(403, "Forbidden")
        return decision


def _decision(authorizer: Authorizer, result: Any) -> dict[str, Any] | None:
    """The authorizer context when the request is allowed, else None."""
    if not isinstance(result, dict):
        raise TypeError(f"authorizer returned {type(result).__name__}, not an object")
    if authorizer.simple_responses:
        if result.get("isAuthorized") is True:
            return dict(result.get("context") or {})
        return None
    statements = (result.get("policyDocument") or {}).get("Statement") or []
    effects = {str(s.get("Effect", "")).lower() for s in statements}
    if "allow" in effects and "deny" not in effects:
        context = dict(result.get("context") or {})
        if "principalId" in result:
            context.setdefault("principalId", result["principalId"])
        return context
    return None


def _to_reply(result: Any) -> Reply:
    """A Lambda proxy response (payload v2) as an HTTP response."""
    if not isinstance(result, dict) or "statusCode" not in result:
        text = result if isinstance(result, str) else json.dumps(result)
        return Reply(200, {"content-type": "application/json"}, text.encode(), [])
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(key).lower()] = ",".join(str(v) for v in values)
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return Reply(int(result["statusCode"]), headers, body, list(result.get("cookies") or []))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall
    api: HttpApi  # set on the subclass made by `serve`

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)

    def _read_body(self) -> bytes | None:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                total += size
                if total > MAX_PAYLOAD_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._send(_json_reply(413, "Request Entity Too Large"))
            return
        url = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        request = Request(self.command, url.path or "/", url.query, headers, body, self.client_address[0])
        try:
            reply = self.api.handle(request)
        except Exception:
            log.exception("local HTTP API failed on %s %s", self.command, url.path)
            reply = _json_reply(500, "Internal Server Error")
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            if name not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        for cookie in reply.cookies:
            self.send_header("set-cookie", cookie)
        self.send_header("content-length", str(len(reply.body)))
        self.send_header("apigw-requestid", str(uuid.uuid4()))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


def serve(api: HttpApi, port: int) -> ThreadingHTTPServer:
    """Start the HTTP API on 127.0.0.1:`port` (0 picks a free port) in a daemon thread."""
    handler = type("LocalApiHandler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http-api", daemon=True).start()
    return server
