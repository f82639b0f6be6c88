"""The X API v2 calls the replier makes, as an agency's account, and what their answers mean to us.

Requests are signed with OAuth 1.0a user context by requests-oauthlib (never by hand). Every answer is
classified into a typed outcome, so callers never look at HTTP status codes:

| X answers                                   | outcome           | caller does                           |
|---------------------------------------------|-------------------|---------------------------------------|
| 201 `{"data": {"id", "text"}}`              | `Posted`          | record the tweet id                   |
| 403 "... duplicate content."                | `AlreadyPosted`   | treat as posted (id unknown)          |
| 429 (+ `x-rate-limit-reset`, Unix seconds)  | `RateLimited`     | come back after the reset             |
| other 4xx                                   | `Rejected`        | fail visibly with X's reason          |
| 5xx, connection errors, timeouts            | `Unavailable`     | retry with backoff (`in_doubt`: |
|                                             |                   | X may have posted it)           |

Automatic HTTP retries are off: a POST is sent once per call, and the caller decides whether to send again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import requests
from requests_oauthlib import OAuth1

DEFAULT_BASE_URL = "https://api.x.com"
BASE_URL_ENV = "X_API_BASE_URL"
TIMEOUT = (3.05, 10.0)  # connect, read (seconds); well inside the replier's 30 s
DUPLICATE_MARKER = "duplicate content"
DEFAULT_RATE_LIMIT_WAIT = 900  # X's windows are 15 minutes; used when a 429 carries no reset header


@dataclass(frozen=True)
class XCredentials:
    """An agency's OAuth 1.0a user credentials (the app's consumer pair + the account's access pair)."""

    consumer_key: str
    consumer_secret: str = field(repr=False)
    access_token: str
    access_token_secret: str = field(repr=False)

    @classmethod
    def from_secret(cls, value: Any) -> XCredentials:
        """Parse the Secrets Manager JSON; raises ValueError naming the missing keys (never their values)."""
        if not isinstance(value, dict):
            raise ValueError("the secret is not a JSON object")
        keys = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
        missing = [k for k in keys if not isinstance(value.get(k), str) or not value.get(k)]
        if missing:
            raise ValueError(f"the secret lacks {', '.join(missing)}")
        return cls(**{k: value[k] for k in keys})


@dataclass(frozen=True)
class RateLimit:
    """X's `x-rate-limit-*` headers (and the 24-hour `x-user-limit-24hour-*` / `x-app-limit-24hour-*`)."""

    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None  # Unix seconds when the exhausted window ends

    @classmethod
    def from_headers(cls, headers: Any) -> RateLimit:
        def num(name: str) -> int | None:
            value = headers.get(name)
            return int(value) if value is not None and str(value).strip().isdigit() else None

        reset = num("x-rate-limit-reset")
        # A 24-hour cap that is spent outlasts the 15-minute window: wait for the later of the two.
        for prefix in ("x-user-limit-24hour", "x-app-limit-24hour"):
            day_reset = num(f"{prefix}-reset")
            if num(f"{prefix}-remaining") == 0 and day_reset is not None:
                reset = max(reset or 0, day_reset)
        return cls(limit=num("x-rate-limit-limit"), remaining=num("x-rate-limit-remaining"), reset=reset)


@dataclass(frozen=True)
class Posted:
    tweet_id: str
    text: str
    rate_limit: RateLimit = RateLimit()


@dataclass(frozen=True)
class AlreadyPosted:
    """X refused identical text from this account: the reply is already public (its id is not given)."""

    detail: str


@dataclass(frozen=True)
class RateLimited:
    reset: int  # Unix seconds
    rate_limit: RateLimit = RateLimit()


@dataclass(frozen=True)
class Rejected:
    """A 4xx other than 429 and duplicate content: sending again will not help."""

    status: int
    reason: str


@dataclass(frozen=True)
class Unavailable:
    """5xx, connection error or timeout. `in_doubt`: the request may have reached X and been posted."""

    reason: str
    in_doubt: bool
    status: int | None = None


PostOutcome = Posted | AlreadyPosted | RateLimited | Rejected | Unavailable


@dataclass(frozen=True)
class Found:
    tweet_id: str


@dataclass(frozen=True)
class NotFound:
    pass


LookupOutcome = Found | NotFound | RateLimited | Rejected | Unavailable


def base_url_from_env() -> str:
    return os.environ.get(BASE_URL_ENV, "").strip().rstrip("/") or DEFAULT_BASE_URL


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_reason(status: int, body: Any, fallback: str = "") -> str:
    """X's own words from either error shape: problem JSON (`detail`, `title`) or `{"errors": [...]}`."""
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("detail", "title") if isinstance(body.get(k), str)]
        for err in body.get("errors") or []:
            if isinstance(err, dict):
                message = err.get("message") or err.get("detail")
                if message:
                    parts.append(str(message))
                for name, values in (err.get("parameters") or {}).items():
                    parts.append(f"{name}: {values}")
        if parts:
            return f"X answered {status}: " + "; ".join(dict.fromkeys(parts))
    return f"X answered {status}" + (f": {fallback[:200]}" if fallback else "")


def _rate_limited(response: requests.Response, now: float) -> RateLimited:
    limits = RateLimit.from_headers(response.headers)
    return RateLimited(reset=limits.reset or int(now) + DEFAULT_RATE_LIMIT_WAIT, rate_limit=limits)


def classify_post(response: requests.Response, now: float) -> PostOutcome:
    """What X's answer to `POST /2/tweets` means; `now` (Unix seconds) fills in a missing reset."""
    status = response.status_code
    body = _json(response)
    if status in (200, 201):
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return Posted(data["id"], str(data.get("text", "")), RateLimit.from_headers(response.headers))
        # Accepted but unreadable: X may well have posted it, so this is not safe to send again blindly.
        return Unavailable(f"X answered {status} without a tweet id", in_doubt=True, status=status)
    if status == 429:
        return _rate_limited(response, now)
    reason = error_reason(status, body, response.text)
    if status == 403 and DUPLICATE_MARKER in reason.lower():
        return AlreadyPosted(reason)
    if 400 <= status < 500:
        return Rejected(status, reason)
    # 503 is X refusing work before doing it; other 5xx (500, 502, 504) may follow a post that went through.
    return Unavailable(reason, in_doubt=status != 503, status=status)


def _network_failure(exc: requests.RequestException) -> Unavailable:
    """A request that never connected cannot have posted; anything later might have."""
    never_sent = isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError)
        and any(word in repr(exc) for word in ("NewConnectionError", "NameResolutionError", "refused"))
    )
    return Unavailable(f"network error talking to X: {type(exc).__name__}", in_doubt=not never_sent)


class XClient:
    """X API v2 as one agency's account. One instance per credentials; the HTTP session is reused."""

    def __init__(
        self,
        credentials: XCredentials,
        base_url: str | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.base_url = (base_url or base_url_from_env()).rstrip("/")
        self._auth = OAuth1(
            credentials.consumer_key,
            client_secret=credentials.consumer_secret,
            resource_owner_key=credentials.access_token,
            resource_owner_secret=credentials.access_token_secret,
            signature_method="HMAC-SHA1",
            signature_type="AUTH_HEADER",
        )
        self._session = session or requests.Session()
        self._timeout = timeout

    def create_reply(self, text: str, in_reply_to_tweet_id: str, now: float) -> PostOutcome:
        """`POST /2/tweets` with `{"text", "reply": {"in_reply_to_tweet_id"}}` (operation createPosts)."""
        body = {"text": text, "reply": {"in_reply_to_tweet_id": in_reply_to_tweet_id}}
        try:
            response = self._session.post(
                f"{self.base_url}/2/tweets",
                data=json.dumps(body, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json"},
                auth=self._auth,
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            return _network_failure(exc)
        return classify_post(response, now)

    def find_reply(self, user_id: str, in_reply_to_tweet_id: str, text: str, now: float) -> LookupOutcome:
        """Look for this account's reply to `in_reply_to_tweet_id` with `text` (`GET /2/users/:id/tweets`).

        Used only when an earlier attempt may have posted. Tweet ids grow with time, so `since_id` set to
        the tweet we answer bounds the search to what was posted after it.
        """
        params = {
            "since_id": in_reply_to_tweet_id,
            "max_results": "100",
            "exclude": "retweets",
            "tweet.fields": "referenced_tweets,created_at",
        }
        try:
            response = self._session.get(
                f"{self.base_url}/2/users/{user_id}/tweets",
                params=params,
                auth=self._auth,
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            failure = _network_failure(exc)
            return Unavailable(failure.reason, in_doubt=False)
        status = response.status_code
        body = _json(response)
        if status == 200:
            for tweet in (body or {}).get("data") or []:
                refs = tweet.get("referenced_tweets") or []
                answers = any(
                    r.get("type") == "replied_to" and r.get("id") == in_reply_to_tweet_id for r in refs
                )
                if answers and _same_text(tweet.get("text", ""), text):
                    return Found(str(tweet["id"]))
            return NotFound()
        if status == 429:
            return _rate_limited(response, now)
        reason = error_reason(status, body, response.text)
        if 400 <= status < 500:
            return Rejected(status, reason)
        return Unavailable(reason, in_doubt=False, status=status)


def _same_text(posted: str, ours: str) -> bool:
    """X rewrites links to t.co and may prefix @mentions, so compare the words that are not links."""

    def words(text: str) -> list[str]:
        return [w for w in text.split() if not w.startswith(("http://", "https://", "@"))]

    return words(posted) == words(ours)
