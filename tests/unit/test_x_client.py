"""kemala.x.client: what each X answer means, and that requests are signed OAuth 1.0a that verifies."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from kemala.x.client import (
    AlreadyPosted,
    Found,
    NotFound,
    Posted,
    RateLimit,
    RateLimited,
    Rejected,
    Unavailable,
    XClient,
    XCredentials,
    classify_post,
)
from oauthlib.oauth1.rfc5849 import signature

from tests.conftest import SHARED_DATA

CREDS = XCredentials("ck", "cs-secret", "1460000000000000001-tok", "ts-secret")
NOW = 1_796_400_000.0
DUPLICATE = (
    '{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank",'
    '"title":"Forbidden","status":403}'
)


def response(status: int, body: str | dict[str, Any] = "", headers: dict[str, str] | None = None) -> Any:
    resp = requests.Response()
    resp.status_code = status
    resp._content = (json.dumps(body) if isinstance(body, dict) else body).encode()
    resp.headers.update(headers or {})
    return resp


def recorded_create_response() -> Any:
    """The real 201 from tweepy's recorded exchange (its headers and gzip body)."""
    import base64
    import gzip

    import yaml

    cassette = yaml.safe_load(
        (SHARED_DATA / "x-api/tweepy-test_client_create_and_delete_tweet.yaml").read_text()
    )
    real = cassette["interactions"][0]["response"]
    raw = real["body"]["string"]
    body = gzip.decompress(raw if isinstance(raw, bytes) else base64.b64decode(raw)).decode()
    headers = {k: v[0] for k, v in real["headers"].items() if k != "content-encoding"}
    return response(real["status"]["code"], body, headers)


def test_recorded_201_is_posted_with_its_id_and_rate_limit_headers() -> None:
    outcome = classify_post(recorded_create_response(), NOW)
    assert outcome == Posted("1456012973835788293", "Test Tweet", RateLimit(200, 199, 1635976418))


def test_real_duplicate_403_body_is_already_posted() -> None:
    outcome = classify_post(response(403, DUPLICATE), NOW)
    assert isinstance(outcome, AlreadyPosted) and "duplicate content" in outcome.detail


def test_429_reads_x_rate_limit_reset_not_retry_after() -> None:
    body = '{"errors":[{"code":88,"message":"Rate limit exceeded"}]}'
    headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": "1796400900"}
    assert classify_post(response(429, body, headers), NOW) == RateLimited(
        1796400900, RateLimit(100, 0, 1796400900)
    )


def test_429_with_a_spent_24_hour_cap_waits_for_the_later_reset() -> None:
    headers = {
        "x-rate-limit-reset": "1796400900",
        "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": "1796480000",
    }
    outcome = classify_post(response(429, "{}", headers), NOW)
    assert isinstance(outcome, RateLimited) and outcome.reset == 1796480000


def test_429_without_headers_waits_one_window() -> None:
    outcome = classify_post(response(429, ""), NOW)
    assert isinstance(outcome, RateLimited) and outcome.reset == int(NOW) + 900


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (
            403,
            {"detail": "You are not permitted to perform this action.", "title": "Forbidden"},
            "not permitted",
        ),
        (401, {"title": "Unauthorized", "detail": "Unauthorized", "status": 401}, "401"),
        (
            400,
            {
                "errors": [{"parameters": {"reply.in_reply_to_tweet_id": ["x"]}, "message": "bad id"}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
            },
            "reply.in_reply_to_tweet_id",
        ),
        (404, "<html>not found</html>", "not found"),
    ],
)
def test_other_4xx_are_rejected_with_x_reason(status: int, body: Any, reason: str) -> None:
    outcome = classify_post(response(status, body), NOW)
    assert isinstance(outcome, Rejected) and outcome.status == status and reason in outcome.reason


@pytest.mark.parametrize(("status", "in_doubt"), [(503, False), (500, True), (502, True), (504, True)])
def test_5xx_is_unavailable_and_in_doubt_unless_x_refused_before_working(status: int, in_doubt: bool) -> None:
    outcome = classify_post(response(status, '{"title": "Service Unavailable"}'), NOW)
    assert outcome == Unavailable(
        f"X answered {status}: Service Unavailable", in_doubt=in_doubt, status=status
    )


def test_201_without_an_id_is_in_doubt_not_a_success() -> None:
    outcome = classify_post(response(201, "{}"), NOW)
    assert isinstance(outcome, Unavailable) and outcome.in_doubt


class Capture(requests.adapters.BaseAdapter):
    """A transport that records the prepared request and answers (or raises) as told."""

    def __init__(self, answer: Any) -> None:
        super().__init__()
        self.answer = answer
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        resp = self.answer
        resp.request = request
        return resp  # type: ignore[no-any-return]

    def close(self) -> None:
        pass


def client_with(answer: Any) -> tuple[XClient, Capture]:
    session = requests.Session()
    adapter = Capture(answer)
    session.mount("https://", adapter)
    return XClient(CREDS, base_url="https://api.x.com", session=session), adapter


def test_create_reply_posts_the_createposts_body_signed_with_oauth1_that_verifies() -> None:
    client, capture = client_with(response(201, {"data": {"id": "1900000000000000001", "text": "ok"}}))
    outcome = client.create_reply("Terima kasih 🙏🏽 https://jatengprov.go.id", "1124287614780047362", NOW)
    assert outcome == Posted("1900000000000000001", "ok")
    sent = capture.sent[0]
    assert (sent.method, sent.url) == ("POST", "https://api.x.com/2/tweets")
    assert json.loads(sent.body or b"") == {
        "text": "Terima kasih 🙏🏽 https://jatengprov.go.id",
        "reply": {"in_reply_to_tweet_id": "1124287614780047362"},
    }
    header = sent.headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    params = dict(
        signature.collect_parameters(headers={"Authorization": header}, exclude_oauth_signature=False)
    )
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    assert (params["oauth_consumer_key"], params["oauth_token"]) == ("ck", CREDS.access_token)
    request = SimpleNamespace(
        http_method="POST",
        uri=sent.url,
        signature=params["oauth_signature"],
        params=signature.collect_parameters(headers={"Authorization": header}),
    )
    assert signature.verify_hmac_sha1(request, "cs-secret", "ts-secret")
    assert not signature.verify_hmac_sha1(request, "cs-secret", "another-token-secret")


@pytest.mark.parametrize(
    ("error", "in_doubt"),
    [
        (requests.ConnectTimeout("connect timed out"), False),
        (requests.ConnectionError("NewConnectionError: [Errno 111] Connection refused"), False),
        (requests.ReadTimeout("read timed out"), True),
        (requests.ConnectionError("Connection aborted. RemoteDisconnected"), True),
    ],
)
def test_network_errors_are_unavailable_in_doubt_once_the_request_may_have_left(
    error: Exception, in_doubt: bool
) -> None:
    client, _ = client_with(error)
    outcome = client.create_reply("halo", "1", NOW)
    assert isinstance(outcome, Unavailable) and outcome.in_doubt is in_doubt


def test_find_reply_matches_our_reply_by_target_and_words() -> None:
    timeline = {
        "data": [
            {"id": "30", "text": "another reply", "referenced_tweets": [{"type": "replied_to", "id": "7"}]},
            {
                "id": "29",
                "text": "@warga Terima kasih https://t.co/abc",
                "referenced_tweets": [{"type": "replied_to", "id": "7"}],
            },
        ],
        "meta": {"result_count": 2},
    }
    client, capture = client_with(response(200, timeline))
    assert client.find_reply("146", "7", "Terima kasih https://jatengprov.go.id", NOW) == Found("29")
    assert "since_id=7" in (capture.sent[0].url or "")
    client, _ = client_with(response(200, {"meta": {"result_count": 0}}))
    assert client.find_reply("146", "7", "Terima kasih", NOW) == NotFound()


def test_credentials_from_secret_name_missing_keys_never_values() -> None:
    with pytest.raises(ValueError, match="lacks consumer_secret, access_token_secret"):
        XCredentials.from_secret({"consumer_key": "ck", "access_token": "at", "consumer_secret": ""})
    assert "cs-secret" not in repr(CREDS) and "ts-secret" not in repr(CREDS)
