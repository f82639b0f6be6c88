"""X webhook payloads: Account Activity API (v1.1 shapes) and the X Activity API (v2 envelopes).

Both are parsed leniently (unknown fields are ignored, never rejected) and normalised into two small,
source-independent shapes, `IncomingPost` and `IncomingDeletion`, that the ingestion logic works on.
Ids are always the string ids (`id_str`, v2 `id`); the numeric v1.1 `id` loses precision in JSON and is
never read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

TweetId = str
_ID = Field(pattern=r"^[0-9]{1,20}$")


class _Lenient(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore", populate_by_name=True)


# --- Account Activity API -------------------------------------------------------------------------


class AaaUser(_Lenient):
    id_str: str = _ID
    screen_name: str | None = None
    name: str | None = None


class AaaHashtag(_Lenient):
    text: str


class AaaEntities(_Lenient):
    hashtags: list[AaaHashtag] = Field(default_factory=list)


class AaaExtendedTweet(_Lenient):
    full_text: str
    entities: AaaEntities = Field(default_factory=AaaEntities)


class AaaPlace(_Lenient):
    full_name: str | None = None
    name: str | None = None


class AaaCoordinates(_Lenient):
    coordinates: list[float] = Field(min_length=2, max_length=2)


class AaaTweet(_Lenient):
    id_str: str = _ID
    text: str = ""
    full_text: str | None = None
    truncated: bool = False
    extended_tweet: AaaExtendedTweet | None = None
    user: AaaUser
    entities: AaaEntities = Field(default_factory=AaaEntities)
    in_reply_to_status_id_str: str | None = None
    retweeted_status: dict[str, Any] | None = None
    place: AaaPlace | None = None
    coordinates: AaaCoordinates | None = None
    lang: str | None = None
    timestamp_ms: str | None = None


class AaaDeletedStatus(_Lenient):
    id_str: str = _ID
    user_id_str: str | None = None


class AaaDeleteEvent(_Lenient):
    status: AaaDeletedStatus
    timestamp_ms: str | None = None


class AccountActivityDelivery(_Lenient):
    for_user_id: str = _ID
    tweet_create_events: list[AaaTweet] = Field(default_factory=list)
    tweet_delete_events: list[AaaDeleteEvent] = Field(default_factory=list)


# --- X Activity API (v2) -------------------------------------------------------------------------


class V2Hashtag(_Lenient):
    tag: str


class V2Entities(_Lenient):
    hashtags: list[V2Hashtag] = Field(default_factory=list)


class V2ReferencedPost(_Lenient):
    type: str
    id: str = _ID


class V2NoteTweet(_Lenient):
    text: str
    entities: V2Entities = Field(default_factory=V2Entities)


class V2Post(_Lenient):
    id: str = _ID
    text: str = ""
    author_id: str | None = None
    entities: V2Entities = Field(default_factory=V2Entities)
    note_tweet: V2NoteTweet | None = None
    referenced_tweets: list[V2ReferencedPost] = Field(default_factory=list)
    lang: str | None = None
    geo: dict[str, Any] | None = None


class V2User(_Lenient):
    id: str = _ID
    username: str | None = None


class V2Place(_Lenient):
    id: str
    full_name: str | None = None


class V2Includes(_Lenient):
    users: list[V2User] = Field(default_factory=list)
    places: list[V2Place] = Field(default_factory=list)


class V2Filter(_Lenient):
    user_id: str | None = None


class XActivityEvent(_Lenient):
    event_uuid: str | None = None
    event_type: str
    filter: V2Filter = Field(default_factory=V2Filter)
    tag: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    includes: V2Includes = Field(default_factory=V2Includes)


class XActivityDelivery(_Lenient):
    data: XActivityEvent


# --- Normalised shapes ---------------------------------------------------------------------------


class IncomingPost(BaseModel):
    """A created tweet, whatever API delivered it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    tweet_id: TweetId
    author_id: str
    author_handle: str | None
    text: str
    hashtags: tuple[str, ...]
    in_reply_to: TweetId | None
    is_retweet: bool
    place: str | None
    coordinates: tuple[float, float] | None
    lang: str | None
    subscribed_user_id: str | None


class IncomingDeletion(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    tweet_id: TweetId
    author_id: str | None


class Delivery(BaseModel):
    """One webhook delivery, normalised. `ignored` counts events that are not tweets (DMs, likes...)."""

    source: Literal["account_activity", "x_activity"]
    posts: list[IncomingPost] = Field(default_factory=list)
    deletions: list[IncomingDeletion] = Field(default_factory=list)
    ignored: int = 0


class PayloadShapeError(ValueError):
    """The JSON parsed but is not a delivery we understand; the message names the field."""


def _from_aaa_tweet(tweet: AaaTweet, subscribed: str) -> IncomingPost:
    full = tweet.extended_tweet if tweet.truncated and tweet.extended_tweet else None
    text = full.full_text if full else (tweet.full_text or tweet.text)
    entities = full.entities if full else tweet.entities
    coords = tweet.coordinates.coordinates if tweet.coordinates else None
    return IncomingPost(
        tweet_id=tweet.id_str,
        author_id=tweet.user.id_str,
        author_handle=tweet.user.screen_name,
        text=text,
        hashtags=tuple(h.text for h in entities.hashtags),
        in_reply_to=tweet.in_reply_to_status_id_str,
        is_retweet=tweet.retweeted_status is not None,
        place=tweet.place.full_name if tweet.place else None,
        coordinates=(coords[0], coords[1]) if coords else None,
        lang=tweet.lang,
        subscribed_user_id=subscribed,
    )


def _from_v2_post(event: XActivityEvent) -> IncomingPost:
    post = V2Post.model_validate(event.payload)
    note = post.note_tweet  # long posts carry their whole text and entities here
    entities = note.entities if note else post.entities
    author = next((u for u in event.includes.users if u.id == post.author_id), None)
    place_id = (post.geo or {}).get("place_id")
    place = next((p.full_name for p in event.includes.places if p.id == place_id), None)
    coords = ((post.geo or {}).get("coordinates") or {}).get("coordinates")
    reply_to = next((r.id for r in post.referenced_tweets if r.type == "replied_to"), None)
    return IncomingPost(
        tweet_id=post.id,
        author_id=post.author_id or "",
        author_handle=author.username if author else None,
        text=note.text if note else post.text,
        hashtags=tuple(h.tag for h in entities.hashtags),
        in_reply_to=reply_to,
        is_retweet=any(r.type == "retweeted" for r in post.referenced_tweets),
        place=place,
        coordinates=(float(coords[0]), float(coords[1])) if coords and len(coords) == 2 else None,
        lang=post.lang,
        subscribed_user_id=event.filter.user_id,
    )


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def parse_delivery(payload: Any) -> Delivery:
    """Normalise a decoded webhook body, or raise `PayloadShapeError` naming the offending field."""
    if not isinstance(payload, dict):
        raise PayloadShapeError("body: expected a JSON object")
    try:
        if "data" in payload and isinstance(payload["data"], dict) and "event_type" in payload["data"]:
            event = XActivityDelivery.model_validate(payload).data
            if event.event_type == "post.create":
                return Delivery(source="x_activity", posts=[_from_v2_post(event)])
            if event.event_type == "post.delete":
                deleted = V2Post.model_validate(event.payload)
                return Delivery(
                    source="x_activity",
                    deletions=[IncomingDeletion(tweet_id=deleted.id, author_id=deleted.author_id)],
                )
            return Delivery(source="x_activity", ignored=1)
        if "for_user_id" in payload:
            aaa = AccountActivityDelivery.model_validate(payload)
            known = {"for_user_id", "tweet_create_events", "tweet_delete_events", "user_has_blocked"}
            return Delivery(
                source="account_activity",
                posts=[_from_aaa_tweet(t, aaa.for_user_id) for t in aaa.tweet_create_events],
                deletions=[
                    IncomingDeletion(tweet_id=d.status.id_str, author_id=d.status.user_id_str)
                    for d in aaa.tweet_delete_events
                ],
                ignored=sum(1 for key in payload if key not in known),
            )
    except ValidationError as exc:
        raise PayloadShapeError(_describe(exc)) from None
    raise PayloadShapeError(
        "body: neither an Account Activity (for_user_id) nor an X Activity (data) delivery"
    )
