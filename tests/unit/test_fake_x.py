"""The fake X API: as strict as X on bodies (X's own OpenAPI schema) and OAuth 1.0a; faults on demand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from kemala_cli.fake_x import FakeX, SpecMissing
from kemala_cli.main import main
from requests_oauthlib import OAuth1

USER = "1460000000000000001"
SEEDED = {
    "consumer_key": "ck",
    "consumer_secret": "cs",
    "access_token": f"{USER}-tok",
    "access_token_secret": "ts",
}
AUTH = OAuth1("ck", "cs", f"{USER}-tok", "ts")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeX]:
    with FakeX().start() as server:
        server.add_account(USER, **SEEDED)
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeX) -> None:
    fake.reset()


def post(fake: FakeX, body: Any, auth: Any = AUTH, raw: bytes | None = None) -> requests.Response:
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(
        f"{fake.url}/2/tweets", data=data, headers={"Content-Type": "application/json"}, auth=auth, timeout=5
    )


def invalid_field(resp: requests.Response) -> str:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["type"] == "https://api.x.com/2/problems/invalid-request"
    return str(next(iter(body["errors"][0]["parameters"])))


def test_valid_reply_is_201_with_a_snowflake_id_rate_headers_and_recorded(fake: FakeX) -> None:
    resp = post(fake, {"text": "Siap, kami cek", "reply": {"in_reply_to_tweet_id": "1124287614780047362"}})
    assert resp.status_code == 201
    data = resp.json()["data"]
    assert data["text"] == "Siap, kami cek" and data["id"].isdigit() and int(data["id"]) > 1124287614780047362
    assert resp.headers["x-rate-limit-limit"] == "200" and resp.headers["x-rate-limit-remaining"] == "199"
    assert resp.headers["x-rate-limit-reset"].isdigit()
    listed = requests.get(f"{fake.url}/_fake/posts", timeout=5).json()["posts"]
    assert [p["id"] for p in listed] == [data["id"]] and listed[0]["author_id"] == USER
    assert requests.get(f"{fake.url}/__fake/posts", timeout=5).json()["posts"] == listed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "hi", "reply": {"in_reply_to_tweet_id": "1"}, "in_reply_to": "1"}, "in_reply_to"),
        ({"text": "hi", "reply": {"in_reply_to_tweet_id": "1", "user": "x"}}, "reply.user"),
        ({"text": "hi", "reply": {"in_reply_to_tweet_id": "12a"}}, "reply.in_reply_to_tweet_id"),
        ({"text": "hi", "reply": {"in_reply_to_tweet_id": 12}}, "reply.in_reply_to_tweet_id"),
        ({"text": "hi", "reply": {"in_reply_to_tweet_id": "1" * 20}}, "reply.in_reply_to_tweet_id"),
        ({"text": "hi", "reply": {}}, "reply.in_reply_to_tweet_id"),
        ({"reply": {"in_reply_to_tweet_id": "1"}}, "text"),
        ({"text": "", "reply": {"in_reply_to_tweet_id": "1"}}, "text"),
        ({"text": 5}, "text"),
        ({"text": "hi", "reply_settings": "everyone"}, "reply_settings"),
    ],
)
def test_bodies_that_break_x_schema_are_400_naming_the_field(fake: FakeX, body: Any, field: str) -> None:
    assert invalid_field(post(fake, body)) == field
    assert fake.posts() == []


def test_non_json_body_is_400(fake: FakeX) -> None:
    resp = post(fake, None, raw=b"text=hi")
    assert resp.status_code == 400 and "not valid JSON" in resp.json()["detail"]


@pytest.mark.parametrize(
    ("auth", "detail"),
    [
        (None, "OAuth 1.0a header missing"),
        (OAuth1("ck", "cs", f"{USER}-tok", "wrong"), "bad OAuth signature"),
        (OAuth1("ck", "cs", f"{USER}-tok", "ts", signature_method="PLAINTEXT"), "HMAC-SHA1"),
    ],
)
def test_unsigned_or_badly_signed_requests_are_401(fake: FakeX, auth: Any, detail: str) -> None:
    resp = post(fake, {"text": "hi"}, auth=auth)
    assert resp.status_code == 401 and detail in resp.json()["detail"]
    assert fake.posts() == []


def test_oauth_header_without_a_token_is_401_naming_what_is_missing(fake: FakeX) -> None:
    resp = post(fake, {"text": "hi"}, auth=OAuth1("ck", "cs"))
    assert resp.status_code == 401 and "oauth_token" in resp.json()["detail"]


def test_replayed_nonce_is_401(fake: FakeX) -> None:
    prepared = requests.Request(
        "POST",
        f"{fake.url}/2/tweets",
        data=b'{"text": "sekali"}',
        headers={"Content-Type": "application/json"},
        auth=AUTH,
    ).prepare()
    with requests.Session() as session:
        assert session.send(prepared, timeout=5).status_code == 201
        assert session.send(prepared, timeout=5).status_code == 401


def test_same_text_twice_from_one_account_is_the_real_403_duplicate(fake: FakeX) -> None:
    body = {"text": "Laporan diterima", "reply": {"in_reply_to_tweet_id": "5"}}
    assert post(fake, body).status_code == 201
    resp = post(fake, body)
    assert resp.status_code == 403
    assert resp.json()["detail"] == "You are not allowed to create a Tweet with duplicate content."
    other = OAuth1("ck2", "cs2", "1460000000000000002-tok", "ts2")  # unseeded: accepted unverified
    assert post(fake, body, auth=other).status_code == 201  # another account may say the same
    assert len(fake.posts()) == 2


def test_text_over_x_weighted_280_is_403_too_long(fake: FakeX) -> None:
    assert post(fake, {"text": "🙏🏽" * 140}).status_code == 201  # 140 emoji weigh 280: fits
    resp = post(fake, {"text": "a" * 281})
    assert resp.status_code == 403 and "too long" in resp.json()["detail"]


@pytest.mark.parametrize(
    ("kind", "options", "status"),
    [("rate_limit", {"reset_in": 60}, 429), ("server_error", {"status": 502}, 502), ("duplicate", {}, 403)],
)
def test_injected_faults_answer_the_next_requests_then_stop(
    fake: FakeX, kind: str, options: dict[str, Any], status: int
) -> None:
    fake.inject(kind, count=2, **options)
    assert [post(fake, {"text": f"t{i}"}).status_code for i in range(3)] == [status, status, 201]


def test_injected_429_carries_x_reset_header_and_real_body(fake: FakeX) -> None:
    requests.post(f"{fake.url}/_fake/faults", json={"kind": "rate_limit", "reset_in": 120}, timeout=5)
    resp = post(fake, {"text": "x"})
    assert resp.status_code == 429 and "Retry-After" not in resp.headers
    assert resp.json() == {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
    assert resp.headers["x-rate-limit-remaining"] == "0" and resp.headers["x-rate-limit-reset"].isdigit()


def test_spent_window_is_a_real_429() -> None:
    with FakeX(rate_limit=1).start() as small:
        assert post(small, {"text": "satu"}).status_code == 201
        assert post(small, {"text": "dua"}).status_code == 429


def test_dropped_connections_before_and_after_posting(fake: FakeX) -> None:
    fake.inject("drop")
    with pytest.raises(requests.ConnectionError):
        post(fake, {"text": "hilang"})
    assert fake.posts() == []
    fake.inject("drop_after_post")
    with pytest.raises(requests.ConnectionError):
        post(fake, {"text": "terkirim"})
    assert [p.text for p in fake.posts()] == ["terkirim"]


def test_timeline_lists_the_accounts_replies_after_since_id(fake: FakeX) -> None:
    post(fake, {"text": "balasan", "reply": {"in_reply_to_tweet_id": "42"}})
    resp = requests.get(f"{fake.url}/2/users/{USER}/tweets", params={"since_id": "42"}, auth=AUTH, timeout=5)
    tweets = resp.json()["data"]
    assert tweets[0]["referenced_tweets"] == [{"type": "replied_to", "id": "42"}]


def test_bad_fault_requests_are_400(fake: FakeX) -> None:
    resp = requests.post(f"{fake.url}/_fake/faults", json={"kind": "meteor"}, timeout=5)
    assert resp.status_code == 400 and "unknown fault 'meteor'" in resp.json()["message"]
    with pytest.raises(ValueError, match="count must be at least 1"):
        fake.inject("drop", count=0)


def test_missing_spec_fails_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(SpecMissing, match=r"X's OpenAPI document is missing: .*openapi.json"):
        FakeX(spec_path=tmp_path / "openapi.json")


def test_cli_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fake-x", "--port", "70000"]) == 2
    assert "kemala: error: --port must be 0..65535, not 70000" in capsys.readouterr().err
