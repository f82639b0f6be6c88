"""The demo's tweets: real texts, tweet-sized, in the captured AAA shape the webhook accepts."""

from __future__ import annotations

import json

from kemala.models.x_payloads import parse_delivery
from kemala_cli.local.demo_stream import build_stream, delete_payload, followup, imprecise_id


def test_numeric_ids_are_rounded_like_xs_json() -> None:
    assert imprecise_id("1124287614780047362") == 1124287614780047400  # as in the real capture


def test_stream_tweets_are_unique_tweet_sized_and_parse_as_complaints() -> None:
    stream = build_stream(60)
    assert len({t.tweet_id for t in stream}) == 60
    for tweet in stream:
        assert len(tweet.text) <= 280 and "#KemalaJateng" in tweet.text
        event = json.loads(tweet.body)["tweet_create_events"][0]
        assert event["id_str"] == tweet.tweet_id and event["id"] != int(tweet.tweet_id)
        for tag in event["entities"]["hashtags"]:
            start, end = tag["indices"]
            assert tweet.text[start:end] == "#" + tag["text"]
        post = parse_delivery(json.loads(tweet.body)).posts[0]
        assert post.tweet_id == tweet.tweet_id and "KemalaJateng" in post.hashtags
    assert "Bandung" not in " ".join(t.text for t in stream)  # West Java places swapped for Central Java


def test_followups_reply_to_the_original_and_deletions_name_it() -> None:
    original = build_stream(1)[0]
    reply = parse_delivery(json.loads(followup(original, 1).body)).posts[0]
    assert reply.in_reply_to == original.tweet_id and reply.author_id == original.author_id
    deletion = parse_delivery(delete_payload(original, "602907365")).deletions[0]
    assert deletion.tweet_id == original.tweet_id
