"""HTML and MarkdownV2 parsing into text and entities, with Telegram's offsets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.errors import ApiError
from bot.sandbox.formatting import parse_html, parse_markdown_v2


def test_html_entities_and_offsets_in_utf16() -> None:
    parsed = parse_html('😀 <b>bold <i>both</i></b> &lt;x&gt; <a href="https://e.org">l</a>')
    assert parsed.text == "😀 bold both <x> l"
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "url": "https://e.org", "offset": 17, "length": 1},
    ]


def test_html_spoiler_pre_and_blockquote() -> None:
    parsed = parse_html(
        '<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">t</span>'
        '<pre><code class="language-python">x</code></pre><blockquote expandable>q</blockquote>'
    )
    types = [e["type"] for e in parsed.entities]
    assert sorted(types) == ["code", "expandable_blockquote", "pre", "spoiler", "spoiler"]
    assert next(e for e in parsed.entities if e["type"] == "pre")["language"] == "python"


def test_markdown_v2() -> None:
    parsed = parse_markdown_v2(r"*b* _i_ __u__ ~s~ ||p|| `c` [l](https://e.org) 1\.5")
    assert parsed.text == "b i u s p c l 1.5"
    assert [e["type"] for e in parsed.entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    with pytest.raises(ApiError, match="Can't find end of Bold entity at byte offset 0"):
        parse_markdown_v2("*open")


@given(st.text(alphabet=st.characters(blacklist_characters="<>&"), max_size=50))
def test_plain_text_survives_html(text: str) -> None:
    assert parse_html(text).text == text


@given(st.text(max_size=40))
def test_escaped_text_round_trips(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert parse_html(f"<b>{escaped}</b>").text == text
