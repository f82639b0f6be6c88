"""The demo's tweet stream: real complaint texts in X's real Account Activity delivery shape.

Texts come from ../shared/data/complaints/train.jsonl (LAPOR! reports from Kab. Bandung): each is cut to
tweet length, the West Java place names are swapped for a Central Java region or town (from
config/gazetteer.yaml), and `#KemalaJateng` plus a mention of the subscribed account are added the way
people write them. Payloads are the captured AAA mention (x-webhooks/aaa-incoming_tweet_with_mention.json)
with unique `id_str`s; the numeric `id` is rounded to double precision, as X's JSON really carries it.
"""

from __future__ import annotations

import copy
import json
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from kemala_cli.cfn import PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
COMPLAINTS = SHARED_DATA / "complaints" / "train.jsonl"
MENTION = SHARED_DATA / "x-webhooks" / "aaa-incoming_tweet_with_mention.json"
MENTION_REPLY = SHARED_DATA / "x-webhooks" / "aaa-incoming_tweet_with_mention_reply.json"
GAZETTEER = PROJECT_ROOT / "config" / "gazetteer.yaml"

HASHTAG = "KemalaJateng"
SUBSCRIBED_HANDLE = "humasjateng"
TWEET_LIMIT = 270  # X allows 280 weighted characters; keep a margin for emoji counted twice
_WEST_JAVA = re.compile(
    # LAPOR! texts glue title and body ("Kabupaten BandungLokasi"), so no word boundary after the name
    r"(?:\b(?:kabupa\w*|kab\.?|kota)\s*)?bandung(?:\s+barat)?|\bsoreang\b|\bbale\s?endah\b|\bcimahi\b",
    re.IGNORECASE,
)
_FALLBACK_PLACES = [
    "Kota Semarang",
    "Solo",
    "Kab. Grobogan",
    "Purwodadi",
    "Kab. Banyumas",
    "Purwokerto",
    "Kota Tegal",
    "Kab. Kudus",
    "Kab. Klaten",
    "Kota Magelang",
]
_PATTERNS = [
    "#{tag} {text} di {place} @{handle}",
    "@{handle} {text}. Lokasi: {place} #{tag}",
    "#{tag} {place}: {text}",
    "{text} ({place}) mohon ditindaklanjuti @{handle} #{tag}",
    "Lapor @{handle}, {text} di {place}. #{tag}",
]


@dataclass(frozen=True)
class DemoTweet:
    tweet_id: str
    author_id: str
    handle: str
    text: str
    category: str  # the label in train.jsonl (for reference; the router does not see it)
    payload: dict[str, Any]

    @property
    def body(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False).encode()


def places() -> list[str]:
    """Region names and towns people write, from the routing gazetteer when it is there."""
    if not GAZETTEER.exists():
        return list(_FALLBACK_PLACES)
    import yaml

    doc = yaml.safe_load(GAZETTEER.read_text(encoding="utf-8")) or {}
    out: list[str] = []
    for region in (doc.get("regions") or {}).values():
        out.append(str(region.get("name")))
        out.extend(str(t).title() for t in (region.get("towns") or [])[:3])
    return [p for p in out if p and p != "None"] or list(_FALLBACK_PLACES)


def imprecise_id(id_str: str) -> int:
    """The numeric `id` as X's JSON carries it: rounded to a double (1124287614780047362 -> ...400)."""
    return int(Decimal(repr(float(int(id_str)))))


def _cut(text: str, budget: int) -> str:
    text = " ".join(text.split())
    if len(text) <= budget:
        return text.rstrip(". ")
    cut = text[: budget - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",.;: ") + "…"


def tweet_text(raw: str, place: str | None, rng: random.Random) -> str:
    """A complaint as a citizen would tweet it (at most TWEET_LIMIT characters)."""
    raw = _WEST_JAVA.sub(place or "sini", raw)
    pattern = rng.choice(_PATTERNS) if place else "#{tag} {text} @{handle}"
    skeleton = pattern.format(tag=HASHTAG, text="", place=place or "", handle=SUBSCRIBED_HANDLE)
    text = _cut(raw, TWEET_LIMIT - len(skeleton))
    return pattern.format(tag=HASHTAG, text=text, place=place or "", handle=SUBSCRIBED_HANDLE)


def _entities(text: str, subscribed_id: str) -> dict[str, Any]:
    hashtags = [{"text": m.group(1), "indices": [m.start(), m.end()]} for m in re.finditer(r"#(\w+)", text)]
    mentions = [
        {
            "screen_name": SUBSCRIBED_HANDLE,
            "name": "Humas Pemprov Jateng",
            "id": int(subscribed_id),
            "id_str": subscribed_id,
            "indices": [m.start(), m.end()],
        }
        for m in re.finditer(rf"@{SUBSCRIBED_HANDLE}\b", text)
    ]
    return {"hashtags": hashtags, "urls": [], "user_mentions": mentions, "symbols": []}


def tweet_payload(
    base: dict[str, Any],
    tweet_id: str,
    author_id: str,
    handle: str,
    text: str,
    in_reply_to: str | None = None,
) -> dict[str, Any]:
    """The captured AAA delivery with this tweet in it."""
    payload = copy.deepcopy(base)
    subscribed = str(payload["for_user_id"])
    tweet = payload["tweet_create_events"][0]
    now = datetime.now(UTC)
    tweet.update(
        {
            "created_at": now.strftime("%a %b %d %H:%M:%S +0000 %Y"),
            "id": imprecise_id(tweet_id),
            "id_str": tweet_id,
            "text": text,
            "truncated": False,
            "lang": "in",
            "timestamp_ms": str(int(now.timestamp() * 1000)),
            "entities": _entities(text, subscribed),
            "in_reply_to_status_id": imprecise_id(in_reply_to) if in_reply_to else None,
            "in_reply_to_status_id_str": in_reply_to,
            "in_reply_to_user_id": int(author_id) if in_reply_to else None,
            "in_reply_to_user_id_str": author_id if in_reply_to else None,
            "in_reply_to_screen_name": handle if in_reply_to else None,
        }
    )
    tweet["user"].update(
        {
            "id": int(author_id),
            "id_str": author_id,
            "name": handle.replace("_", " ").title(),
            "screen_name": handle,
            "lang": "in",
            "location": None,
        }
    )
    return payload


def delete_payload(tweet: DemoTweet, for_user_id: str) -> dict[str, Any]:
    """An AAA `tweet_delete_events` delivery (X's documented shape)."""
    return {
        "for_user_id": for_user_id,
        "tweet_delete_events": [
            {
                "status": {
                    "id": imprecise_id(tweet.tweet_id),
                    "id_str": tweet.tweet_id,
                    "user_id": int(tweet.author_id),
                    "user_id_str": tweet.author_id,
                },
                "timestamp_ms": str(int(time.time() * 1000)),
            }
        ],
    }


def build_stream(count: int, seed: int = 7) -> list[DemoTweet]:
    """`count` complaint tweets (a tenth without a place, so some need the triage team)."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in COMPLAINTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng.shuffle(rows)
    base = json.loads(MENTION.read_text(encoding="utf-8"))
    where = places()
    first_id = 1_868_000_000_000_000_000 + rng.randrange(10**12) * 4096
    tweets = []
    for i in range(count):
        row = rows[i % len(rows)]
        tweet_id = str(first_id + i * 4_194_304 + rng.randrange(4096))
        author_id = str(1_500_000_000 + rng.randrange(10**9))
        handle = f"warga_{rng.choice(['jtg', 'smg', 'solo', 'pwt', 'kds', 'mgl'])}{rng.randrange(1000, 9999)}"
        place = rng.choice(where) if rng.random() > 0.1 else None
        text = tweet_text(row["text"], place, rng)
        tweets.append(
            DemoTweet(
                tweet_id,
                author_id,
                handle,
                text,
                row["category"],
                tweet_payload(base, tweet_id, author_id, handle, text),
            )
        )
    return tweets


def followup(original: DemoTweet, seq: int) -> DemoTweet:
    """The citizen replies to their own complaint (based on the captured AAA reply)."""
    base = json.loads(MENTION_REPLY.read_text(encoding="utf-8"))
    tweet_id = str(int(original.tweet_id) + 1_000_000_000 + seq)
    text = f"@{SUBSCRIBED_HANDLE} sudah seminggu belum ada perbaikan, mohon segera dicek 🙏"
    payload = tweet_payload(
        base, tweet_id, original.author_id, original.handle, text, in_reply_to=original.tweet_id
    )
    return DemoTweet(tweet_id, original.author_id, original.handle, text, original.category, payload)
