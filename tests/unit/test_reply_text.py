"""Reply length as X counts it (twitter-text v3): 280 weighted, URLs 23, emoji 2, CJK 2."""

from __future__ import annotations

import pytest
from kemala.x.reply_text import MAX_WEIGHTED_LENGTH, InvalidReplyText, validate_reply_text


@pytest.mark.parametrize(
    ("text", "weighted"),
    [
        ("a" * 280, 280),
        ("Jalan sudah kami tambal, terima kasih 🙏", 40),
        ("🙏🏽", 2),  # emoji + skin tone modifier: one emoji
        ("👨‍👩‍👧", 2),  # a ZWJ family: one emoji
        ("🇮🇩", 2),  # a flag: one emoji
        ("道路", 4),  # CJK weighs 2
        ("https://dpu.jatengprov.go.id/" + "a" * 200, 23),  # any URL counts 23
        ("cek t.co/abc dan https://example.com", 4 + 23 + 5 + 23),
        ("é", 1),  # NFC: e + combining accent counts once
        ("baris satu\nbaris dua\r\n\tselesai", 29),  # newlines and tabs are fine; CRLF counts once
        ("🙏🏽" * 140, 280),
    ],
)
def test_weighted_length_matches_x(text: str, weighted: int) -> None:
    assert validate_reply_text(text).weighted_length == weighted


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a" * 281, "281"),
        ("🙏🏽" * 141, "282"),
        ("道" * 141, "282"),
        ("x " * 130 + "https://example.com " * 2, "limit"),
        ("", "empty"),
        ("  \n\t ", "empty"),
        ("halo\ufffe", "not allow"),
        ("halo\x00", "U\\+0000 at position 4"),
        ("\x1b[31mmerah", "U\\+001B"),
        ("a" * 5000, "5000 characters"),
    ],
)
def test_texts_x_would_refuse_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidReplyText, match=reason):
        validate_reply_text(text)


def test_text_is_returned_unchanged_at_exactly_the_limit() -> None:
    text = "Mohon maaf — " + "b" * (MAX_WEIGHTED_LENGTH - 13)
    checked = validate_reply_text(text)
    assert checked.text == text and checked.weighted_length == MAX_WEIGHTED_LENGTH
