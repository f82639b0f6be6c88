"""Parsing the real captured X payloads, and the traps the webhooks README lists."""

import copy

import pytest
from kemala.models.x_payloads import PayloadShapeError, parse_delivery

from tests.conftest import shared_json
from tests.x_payloads import DM, MENTION, MENTION_REPLY, SENT


def test_mention_uses_id_str_not_the_imprecise_numeric_id() -> None:
    payload = shared_json(MENTION)
    assert payload["tweet_create_events"][0]["id"] == 1124287614780047400  # the precision trap, as captured
    post = parse_delivery(payload).posts[0]
    assert post.tweet_id == "1124287614780047362"
    assert post.author_id == "14235326"
    assert post.subscribed_user_id == "602907365"
    assert post.in_reply_to is None


def test_reply_capture_carries_its_parent_id() -> None:
    post = parse_delivery(shared_json(MENTION_REPLY)).posts[0]
    assert (
        post.in_reply_to == shared_json(MENTION_REPLY)["tweet_create_events"][0]["in_reply_to_status_id_str"]
    )


def test_sent_capture_is_by_the_subscribed_account() -> None:
    post = parse_delivery(shared_json(SENT)).posts[0]
    assert post.author_id == post.subscribed_user_id


def test_dm_delivery_has_no_posts_and_counts_as_ignored() -> None:
    delivery = parse_delivery(shared_json(DM))
    assert delivery.posts == [] and delivery.deletions == []
    assert delivery.ignored >= 1


def test_truncated_tweet_reads_extended_text_and_entities() -> None:
    payload = copy.deepcopy(shared_json(MENTION))
    tweet = payload["tweet_create_events"][0]
    tweet["truncated"] = True
    tweet["text"] = "Jalan berlubang di Purwodadi, sudah tiga bulan tidak diperbaiki, mohon… https://t.co/x"
    tweet["entities"]["hashtags"] = []
    tweet["extended_tweet"] = {
        "full_text": (
            "Jalan berlubang di Purwodadi, sudah tiga bulan tidak diperbaiki, mohon segera #KemalaJateng"
        ),
        "entities": {"hashtags": [{"text": "KemalaJateng", "indices": [79, 92]}]},
    }
    post = parse_delivery(payload).posts[0]
    assert post.text.endswith("#KemalaJateng")
    assert post.hashtags == ("KemalaJateng",)


def test_user_has_blocked_as_string_or_boolean() -> None:
    for value in ("false", False):
        payload = copy.deepcopy(shared_json(MENTION))
        payload["user_has_blocked"] = value
        assert len(parse_delivery(payload).posts) == 1


def test_x_activity_post_create_and_delete() -> None:
    create = {
        "data": {
            "event_uuid": "e1",
            "filter": {"user_id": "602907365"},
            "event_type": "post.create",
            "tag": "kemala",
            "payload": {
                "id": "1900000000000000001",
                "text": "banjir di Pati #KemalaJateng",
                "author_id": "555",
                "entities": {"hashtags": [{"start": 15, "end": 28, "tag": "KemalaJateng"}]},
                "referenced_tweets": [{"type": "replied_to", "id": "1800000000000000000"}],
            },
            "includes": {"users": [{"id": "555", "username": "warga_pati"}]},
        }
    }
    post = parse_delivery(create).posts[0]
    assert (post.tweet_id, post.author_handle, post.in_reply_to) == (
        "1900000000000000001",
        "warga_pati",
        "1800000000000000000",
    )
    assert post.hashtags == ("KemalaJateng",)
    delete = {"data": {"event_type": "post.delete", "payload": {"id": "1900000000000000001"}}}
    assert parse_delivery(delete).deletions[0].tweet_id == "1900000000000000001"
    other = {"data": {"event_type": "follow.follow", "payload": {}}}
    assert parse_delivery(other).ignored == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([1, 2], "body"),
        ({"hello": "world"}, "body"),
        ({"for_user_id": "1", "tweet_create_events": [{"id_str": "12"}]}, "tweet_create_events.0.user"),
        (
            {"for_user_id": "1", "tweet_create_events": [{"id_str": "12a", "user": {"id_str": "1"}}]},
            "tweet_create_events.0.id_str",
        ),
        ({"for_user_id": "1", "tweet_create_events": "nope"}, "tweet_create_events"),
    ],
)
def test_wrong_shapes_name_the_field(payload: object, field: str) -> None:
    with pytest.raises(PayloadShapeError, match=field.replace(".", r"\.")):
        parse_delivery(payload)
