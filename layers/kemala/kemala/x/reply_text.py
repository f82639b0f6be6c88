"""X's own rules for the length of a post, applied to our replies before they are queued.

X counts a *weighted* length (twitter-text v3 config): most Latin, Indonesian and punctuation characters
weigh 1, CJK and other scripts weigh 2, every URL counts 23 whatever its length, and an emoji sequence
(skin tones, ZWJ families, flags) counts 2. The limit is 280. We use the maintained `twitter-text-parser`
port of X's reference library rather than counting by hand, so a reply we accept is one X accepts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from twitter_text import parse_tweet

MAX_WEIGHTED_LENGTH = 280
# Far beyond any valid post (280 weighted = at most a few thousand code points of URLs); refusing longer
# input first keeps the parser's work bounded.
MAX_RAW_CHARACTERS = 4000


class InvalidReplyText(ValueError):
    """The text cannot be posted on X; the message says why, in terms an agency can act on."""


@dataclass(frozen=True)
class ReplyText:
    text: str
    weighted_length: int


def validate_reply_text(text: str) -> ReplyText:
    """Return the text with its weighted length, or raise InvalidReplyText."""
    if not text or not text.strip():
        raise InvalidReplyText("reply text is empty")
    if len(text) > MAX_RAW_CHARACTERS:
        raise InvalidReplyText(
            f"reply text is {len(text)} characters; X allows {MAX_WEIGHTED_LENGTH} (weighted)"
        )
    for position, char in enumerate(text):
        if unicodedata.category(char) == "Cc" and char not in "\n\r\t":
            raise InvalidReplyText(
                f"reply text contains the control character U+{ord(char):04X} at position {position}"
            )
    parsed = parse_tweet(text)
    if parsed.weightedLength > MAX_WEIGHTED_LENGTH:
        raise InvalidReplyText(
            f"reply text is {parsed.weightedLength} characters as X counts them (URLs 23, emoji 2, "
            f"CJK 2); the limit is {MAX_WEIGHTED_LENGTH}"
        )
    if not parsed.valid:
        raise InvalidReplyText("reply text contains characters X does not allow (e.g. U+FFFE, U+FEFF)")
    return ReplyText(text=text, weighted_length=parsed.weightedLength)
