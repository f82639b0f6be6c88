"""A fake X API v2 on loopback, strict where X is strict, for tests and the local stack.

- `POST /2/tweets` (createPosts): the body is validated against X's own OpenAPI document
  (`../shared/data/x-api/openapi.json`, `$ref`s resolved, `additionalProperties: false` enforced); the
  `Authorization` header must be OAuth 1.0a HMAC-SHA1, and its signature is verified when the account's
  credentials were seeded with `add_account`. Answers are X's: 201 `{"data": {"id", "text"}}` with
  snowflake ids and `x-rate-limit-*` headers, 400 problem JSON naming the field, 401, 403 duplicate
  content (same text twice from one account), 403 text too long (X's weighted length), 429 when the
  account's window is spent.
- `GET /2/users/{id}/tweets` (getUsersPosts): the account's accepted posts, newest first.
- Faults for the next N requests: `rate_limit`, `server_error`, `drop` (connection closed, nothing
  posted), `drop_after_post` (posted, then the connection closed: the in-doubt case), `duplicate`,
  `forbidden`.
- Control: `GET /_fake/posts` (alias `/__fake/posts`) lists accepted posts; `POST /_fake/faults`
  `{"kind", "count", ...}`; `POST /_fake/accounts` seeds credentials; `POST /_fake/reset`.

Python: `with FakeX().start() as x: ...; x.posts(); x.inject("rate_limit", reset_in=60)`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from twitter_text import parse_tweet

from kemala_cli.cfn import PROJECT_ROOT

SPEC_PATH = PROJECT_ROOT.parent / "shared" / "data" / "x-api" / "openapi.json"
TWITTER_EPOCH_MS = 1288834974657
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
TOO_LONG_DETAIL = (
    "Your Tweet text is too long. For more information on how X determines text length see "
    "https://github.com/twitter/twitter-text."
)
DELETED_DETAIL = "You attempted to reply to a Tweet that is deleted or not visible to you."
REQUIRED_OAUTH = (
    "oauth_consumer_key",
    "oauth_token",
    "oauth_signature_method",
    "oauth_signature",
    "oauth_timestamp",
    "oauth_nonce",
)
RATE_LIMITED_BODY = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}  # X's, no Retry-After
FAULT_KINDS = ("rate_limit", "server_error", "drop", "drop_after_post", "duplicate", "forbidden")
CONTROL_PREFIXES = ("/_fake/", "/__fake/")


class SpecMissing(FileNotFoundError):
    """X's OpenAPI document is not where the fake expects it."""


def create_posts_validator(spec_path: Path = SPEC_PATH) -> Draft7Validator:
    """A validator for the request body of operation `createPosts`, read from X's OpenAPI document."""
    if not spec_path.is_file():
        raise SpecMissing(
            f"X's OpenAPI document is missing: {spec_path} (expected ../shared/data/x-api/openapi.json "
            "next to the project); the fake X API validates every request against it"
        )
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    for methods in spec.get("paths", {}).values():
        for operation in methods.values():
            if isinstance(operation, dict) and operation.get("operationId") == "createPosts":
                body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
                # Resolve `#/components/...` refs inside one root document.
                return Draft7Validator({**body_schema, "components": spec["components"]})
    raise SpecMissing(f"operation createPosts not found in {spec_path}")


def error_field(error: ValidationError) -> tuple[str, Any]:
    """The dotted field an error is about, and its value; for an unexpected property, that property."""
    path = [str(p) for p in error.absolute_path]
    value: Any = error.instance
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        path.append(extra[0] if extra else "?")
        value = error.instance.get(extra[0]) if extra else None
    elif error.validator == "required":
        match = re.match(r"'([^']+)' is a required property", error.message)
        path.append(match.group(1) if match else "?")
        value = None
    return ".".join(path) or "body", value


@dataclass
class Account:
    user_id: str
    consumer_key: str | None = None
    consumer_secret: str | None = None
    access_token: str | None = None
    access_token_secret: str | None = None
    handle: str | None = None


@dataclass
class AcceptedPost:
    id: str
    text: str
    author_id: str
    in_reply_to_tweet_id: str | None
    body: dict[str, Any]
    oauth: dict[str, str]  # the Authorization parameters, without the signature
    created_at: float


@dataclass
class _Fault:
    kind: str
    options: dict[str, Any] = field(default_factory=dict)


class _Reply(Exception):
    """An HTTP answer (raised to leave request handling early)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status, **extra}


def _invalid(name: str, value: Any, message: str) -> _Reply:
    """X's invalid-request problem, naming the parameter."""
    body = {
        "errors": [{"parameters": {name: [json.dumps(value, ensure_ascii=False)]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.x.com/2/problems/invalid-request",
    }
    return _Reply(400, body)


class FakeX:
    """The fake X API server. Thread-safe; `start()` binds 127.0.0.1 on `port` (0: a free one)."""

    def __init__(
        self,
        port: int = 0,
        spec_path: Path = SPEC_PATH,
        rate_limit: int = 200,
        window_seconds: int = 900,
        verify_signatures: bool = True,
    ) -> None:
        self.validator = create_posts_validator(spec_path)
        self.port = port
        self.rate_limit = rate_limit
        self.window_seconds = window_seconds
        self.verify_signatures = verify_signatures
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._accounts: dict[str, Account] = {}  # by access token
        self._posts: list[AcceptedPost] = []
        self._faults: deque[_Fault] = deque()
        self._windows: dict[str, tuple[int, int]] = {}  # user id -> (reset, used)
        self._nonces: set[str] = set()
        self._deleted: set[str] = set()
        self._sequence = 0
        self.requests = 0  # every request to /2/..., accepted or not

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> FakeX:
        handler = type("FakeXHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-x", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeX:
        return self if self._server else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- the Python control API ----------------------------------------------------------------------

    def add_account(self, user_id: str, **credentials: str | None) -> Account:
        """Seed an account; with its consumer and token secrets, signatures are verified."""
        account = Account(user_id=user_id, **credentials)
        with self._lock:
            if account.access_token:
                self._accounts[account.access_token] = account
        return account

    def inject(self, kind: str, count: int = 1, **options: Any) -> None:
        """Make the next `count` POST /2/tweets fail with `kind` (see FAULT_KINDS). Options:
        rate_limit: `reset_in` seconds (900); server_error: `status` (503); forbidden: `detail`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        with self._lock:
            self._faults.extend(_Fault(kind, options) for _ in range(count))

    def delete_tweet(self, tweet_id: str) -> None:
        """Replies to this tweet get X's 403 'deleted or not visible'."""
        with self._lock:
            self._deleted.add(tweet_id)

    def posts(self) -> list[AcceptedPost]:
        with self._lock:
            return list(self._posts)

    def reset(self) -> None:
        with self._lock:
            self._posts.clear()
            self._faults.clear()
            self._windows.clear()
            self._deleted.clear()
            self.requests = 0

    # --- request handling (called from the server threads) -------------------------------------------

    def _next_fault(self, kinds: tuple[str, ...]) -> _Fault | None:
        with self._lock:
            if self._faults and self._faults[0].kind in kinds:
                return self._faults.popleft()
        return None

    def _new_id(self, now: float) -> str:
        with self._lock:
            self._sequence = (self._sequence + 1) % 4096
            return str(((int(now * 1000) - TWITTER_EPOCH_MS) << 22) | (1 << 12) | self._sequence)

    def _authenticate(self, method: str, url: str, headers: Any) -> tuple[str, dict[str, str]]:
        """(user id, oauth params) of a well-formed, and when seeded verified, OAuth 1.0a request."""
        header = headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            raise _Reply(401, _problem(401, "Unauthorized", "Unauthorized: OAuth 1.0a header missing"))
        try:
            params = dict(
                oauth_signature.collect_parameters(
                    headers={"Authorization": header}, exclude_oauth_signature=False
                )
            )  # unescaped, unlike utils.parse_authorization_header
        except (ValueError, IndexError):
            raise _Reply(401, _problem(401, "Unauthorized", "Unauthorized: malformed OAuth header")) from None
        missing = [k for k in REQUIRED_OAUTH if not params.get(k)]
        if missing:
            raise _Reply(401, _problem(401, "Unauthorized", f"Unauthorized: OAuth header lacks {missing}"))
        if params["oauth_signature_method"] != "HMAC-SHA1" or params.get("oauth_version", "1.0") != "1.0":
            raise _Reply(401, _problem(401, "Unauthorized", "Unauthorized: HMAC-SHA1 OAuth 1.0 only"))
        if not params["oauth_timestamp"].isdigit():
            raise _Reply(401, _problem(401, "Unauthorized", "Unauthorized: bad oauth_timestamp"))
        with self._lock:
            replayed = params["oauth_nonce"] in self._nonces
            self._nonces.add(params["oauth_nonce"])
            account = self._accounts.get(params["oauth_token"])
        if replayed:
            raise _Reply(401, _problem(401, "Unauthorized", "Unauthorized: oauth_nonce reused"))
        if (
            account is not None
            and self.verify_signatures
            and (
                account.consumer_key != params["oauth_consumer_key"]
                or not self._signature_ok(method, url, headers, params, account)
            )
        ):
            raise _Reply(401, _problem(401, "Unauthorized", "Unauthorized: bad OAuth signature"))
        oauth = {k: v for k, v in params.items() if k != "oauth_signature"}
        if account is not None:
            return account.user_id, oauth
        prefix = params["oauth_token"].split("-", 1)[0]  # X access tokens start with the user id
        return (prefix if prefix.isdigit() else str(abs(hash(params["oauth_token"])) % 10**18)), oauth

    @staticmethod
    def _signature_ok(method: str, url: str, headers: Any, params: dict[str, str], account: Account) -> bool:
        query = urlsplit(url).query
        request = SimpleNamespace(
            http_method=method,
            uri=url,
            signature=params["oauth_signature"],
            params=oauth_signature.collect_parameters(
                uri_query=query, headers={"Authorization": headers.get("Authorization")}
            ),
        )
        return bool(
            oauth_signature.verify_hmac_sha1(request, account.consumer_secret, account.access_token_secret)
        )

    def _spend(self, user_id: str, now: float) -> tuple[dict[str, str], bool]:
        """Count one request in the account's window: its `x-rate-limit-*` headers, and if it is over."""
        with self._lock:
            reset, used = self._windows.get(user_id, (0, 0))
            if reset <= now:
                reset, used = int(now) + self.window_seconds, 0
            used += 1
            self._windows[user_id] = (reset, used)
        headers = {
            "x-rate-limit-limit": str(self.rate_limit),
            "x-rate-limit-remaining": str(max(self.rate_limit - used, 0)),
            "x-rate-limit-reset": str(reset),
        }
        return headers, used > self.rate_limit

    def _create(self, url: str, headers: Any, raw: bytes) -> _Reply:
        now = time.time()
        user_id, oauth = self._authenticate("POST", url, headers)
        fault = self._next_fault(("rate_limit", "server_error"))
        if fault is not None and fault.kind == "rate_limit":
            reset = int(now) + int(fault.options.get("reset_in", self.window_seconds))
            limits = {"x-rate-limit-limit": str(self.rate_limit), "x-rate-limit-remaining": "0"}
            return _Reply(429, RATE_LIMITED_BODY, {**limits, "x-rate-limit-reset": str(reset)})
        if fault is not None:
            status = int(fault.options.get("status", 503))
            return _Reply(status, _problem(status, "Service Unavailable", "Service Unavailable"))
        limits, exceeded = self._spend(user_id, now)
        if exceeded:
            return _Reply(429, RATE_LIMITED_BODY, limits)
        body = self._valid_body(raw)
        text = str(body.get("text", ""))
        reply: dict[str, Any] = body.get("reply") or {}
        reply_to = reply.get("in_reply_to_tweet_id")
        if self._next_fault(("duplicate",)) or self._is_duplicate(user_id, text):
            return _Reply(403, _problem(403, "Forbidden", DUPLICATE_DETAIL), limits)
        forbidden = self._next_fault(("forbidden",))
        if forbidden is not None:
            detail = str(forbidden.options.get("detail", "You are not permitted to perform this action."))
            return _Reply(403, _problem(403, "Forbidden", detail), limits)
        if parse_tweet(text).weightedLength > 280:
            return _Reply(403, _problem(403, "Forbidden", TOO_LONG_DETAIL), limits)
        with self._lock:
            deleted = reply_to in self._deleted
        if deleted:
            return _Reply(403, _problem(403, "Forbidden", DELETED_DETAIL), limits)
        tweet_id = self._new_id(now)
        post = AcceptedPost(tweet_id, text, user_id, reply_to, body, oauth, now)
        with self._lock:
            self._posts.append(post)
        headers_out = {**limits, "location": f"{self.url}/2/tweets/{tweet_id}"}
        return _Reply(201, {"data": {"id": tweet_id, "text": text}}, headers_out)

    def _valid_body(self, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _Reply(
                400, _problem(400, "Invalid Request", f"Request body is not valid JSON: {exc}")
            ) from None
        errors = sorted(self.validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            error = errors[0]
            name, value = error_field(error)
            raise _invalid(name, value, f"{name}: {error.message}")
        if not body.get("text") and not body.get("media"):
            raise _invalid("text", body.get("text"), "text: the post text is empty and there is no media")
        return dict(body)

    def _is_duplicate(self, user_id: str, text: str) -> bool:
        with self._lock:
            return any(p.author_id == user_id and p.text == text for p in self._posts)

    def _timeline(self, url: str, headers: Any, user_id: str) -> _Reply:
        self._authenticate("GET", url, headers)
        query = dict(parse_qsl(urlsplit(url).query))
        since = int(query["since_id"]) if query.get("since_id", "").isdigit() else 0
        with self._lock:
            mine = [p for p in self._posts if p.author_id == user_id and int(p.id) > since]
        mine.sort(key=lambda p: int(p.id), reverse=True)
        data: list[dict[str, Any]] = []
        limit = int(query["max_results"]) if query.get("max_results", "").isdigit() else 10
        for p in mine[:limit]:
            tweet: dict[str, Any] = {"id": p.id, "text": p.text, "edit_history_tweet_ids": [p.id]}
            if p.in_reply_to_tweet_id:
                tweet["referenced_tweets"] = [{"type": "replied_to", "id": p.in_reply_to_tweet_id}]
            data.append(tweet)
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta.update(newest_id=data[0]["id"], oldest_id=data[-1]["id"])
            return _Reply(200, {"data": data, "meta": meta})
        return _Reply(200, {"meta": meta})

    def _control(self, method: str, path: str, raw: bytes) -> _Reply:
        name = path.split("/", 2)[-1].strip("/")
        if method == "GET" and name == "posts":
            return _Reply(200, {"posts": [asdict(p) for p in self.posts()]})
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return _Reply(400, {"error": "malformed_json"})
        if method == "POST" and name == "faults":
            try:
                options = {k: v for k, v in body.items() if k not in ("kind", "count")}
                self.inject(str(body.get("kind")), int(body.get("count", 1)), **options)
            except (ValueError, TypeError) as exc:
                return _Reply(400, {"error": "bad_fault", "message": str(exc)})
            return _Reply(202, {"queued": len(self._faults)})
        if method == "POST" and name == "accounts":
            if not str(body.get("user_id", "")).isdigit():
                return _Reply(400, {"error": "bad_account", "message": "user_id (digits) is required"})
            fields = ("consumer_key", "consumer_secret", "access_token", "access_token_secret", "handle")
            self.add_account(str(body["user_id"]), **{k: body.get(k) for k in fields})
            return _Reply(201, {"user_id": str(body["user_id"])})
        if method == "POST" and name == "reset":
            self.reset()
            return _Reply(204, None)
        return _Reply(404, {"error": "not_found", "message": f"no fake control {method} {path}"})

    def dispatch(self, method: str, path: str, url: str, headers: Any, raw: bytes) -> _Reply | None:
        """The answer to one request; None means: drop the connection without answering."""
        if path.startswith(CONTROL_PREFIXES):
            return self._control(method, path, raw)
        with self._lock:
            self.requests += 1
        try:
            if method == "POST" and path == "/2/tweets":
                if self._next_fault(("drop",)):
                    return None
                reply = self._create(url, headers, raw)
                if reply.status == 201 and self._next_fault(("drop_after_post",)):
                    return None
                return reply
            match = re.fullmatch(r"/2/users/([0-9]{1,19})/tweets", path)
            if method == "GET" and match:
                return self._timeline(url, headers, match.group(1))
        except _Reply as reply:
            return reply
        return _Reply(404, _problem(404, "Not Found Error", f"no route {method} {path} in the fake X API"))


class _Handler(BaseHTTPRequestHandler):
    fake: FakeX
    protocol_version = "HTTP/1.1"
    server_version = "tsa_b"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or f"127.0.0.1:{self.fake.port}"
        url = f"http://{host}{self.path}"
        reply = self.fake.dispatch(method, urlsplit(self.path).path, url, self.headers, raw)
        if reply is None:  # a dropped connection: no status line at all
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = b"" if reply.body is None else json.dumps(reply.body, ensure_ascii=False).encode()
        self.send_response(reply.status)
        content_type = "application/problem+json" if reply.status >= 400 else "application/json"
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")
