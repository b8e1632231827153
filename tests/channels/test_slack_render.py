"""Block Kit rendering and escaping for Slack: markup-breaking, huge, binary, emoji and RTL text,
buttons within Slack's limits, and Slack's incoming markup turned back into plain text."""

from __future__ import annotations

import json

import pytest

from bot.channels.slack_render import (
    ACTION_ID,
    FALLBACK_LIMIT,
    LABEL_LIMIT,
    MAX_BLOCKS,
    SECTION_LIMIT,
    action_of,
    escape,
    plain_text,
    render,
    reply_rows,
)
from handlers.messages import Button, Reply


def sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def unescape(text: str) -> str:
    return (
        text.replace("\u2060", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


@pytest.mark.parametrize(
    "text",
    [
        "<!channel> <!here|here> <!subteam^S1> <@U123> <#C1|general> <https://evil|bank>",
        "Tom & Jerry <b>bold</b> a<b && c>d &amp; &lt;",
        "*not bold* _not italic_ ~no~ `code` ```block``` > quote",
    ],
)
def test_markup_in_user_text_cannot_become_slack_markup(text: str) -> None:
    fallback, blocks = render(text)
    shown = fallback + "".join(sections(blocks))
    assert "<" not in shown and ">" not in shown.replace("&gt;", "")
    assert unescape(sections(blocks)[0]) == text  # nothing lost, only escaped


def test_broadcast_words_do_not_notify_anyone() -> None:
    shown = escape("ping @here and @channel and @Everyone, mail me@example.org")
    assert "@here" not in shown and "@channel" not in shown and "@Everyone" not in shown
    assert "me@example.org" in shown


def test_mention_prefix_is_ours_and_only_ours() -> None:
    fallback, blocks = render("<!here> sneaky", mention=True)
    assert fallback.startswith("<!here> &lt;!here&gt;")
    assert sections(blocks)[0].count("<!here>") == 1


def test_huge_text_is_split_into_sections_within_limits() -> None:
    text = "\n".join(f"line {n} & <{n}>" for n in range(20_000))
    fallback, blocks = render(text, [[["OK", "ok"]]])
    assert len(blocks) <= MAX_BLOCKS and blocks[-1]["type"] == "actions"
    assert all(len(s) <= SECTION_LIMIT for s in sections(blocks))
    assert len(fallback) <= FALLBACK_LIMIT
    # pieces break between lines and never inside an escape
    assert all(s.endswith("\n") or s == sections(blocks)[-1] for s in sections(blocks))
    assert unescape("".join(sections(blocks))) == text[: len(unescape("".join(sections(blocks))))]


def test_one_long_word_is_cut_without_breaking_an_entity() -> None:
    text = "&" * 5000
    _, blocks = render(text)
    assert all(len(s) <= SECTION_LIMIT for s in sections(blocks))
    assert all(s.replace("&amp;", "") == "" for s in sections(blocks))
    assert unescape("".join(sections(blocks))) == text


def test_binary_emoji_and_rtl_survive_as_valid_json() -> None:
    text = "bad \ud800 bytes \x00\x07 emoji 👍🏽🇩🇪 and عربي שלום"
    _, blocks = render(text)
    json.dumps(blocks, ensure_ascii=False).encode("utf-8")  # no lone surrogate left
    shown = sections(blocks)[0]
    assert "\x00" not in shown and "\x07" not in shown
    assert "👍🏽🇩🇪" in shown and "عربي שלום" in shown


def test_empty_text_renders_nothing_unless_there_are_buttons() -> None:
    assert render("") == ("", [])
    assert render("   \n ") == ("", [])
    fallback, blocks = render("", [[["Yes", "helpful:yes:1"]]])
    assert fallback.strip() == "" and [b["type"] for b in blocks] == ["actions"]


def test_buttons_carry_their_action_and_fit_slack_limits() -> None:
    rows = [[["x" * 200, "claim:1"], ["Resolve", "resolve:1"]], [["Same", "claim:1"]]]
    rows.append([[str(n), f"rate:1:{n}"] for n in range(30)])
    _, blocks = render("Ticket", rows)
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 4  # 30 buttons in one row need two blocks of at most 25
    elements = [e for b in actions for e in b["elements"]]
    assert all(len(e["elements"]) <= 25 for e in [*actions])
    assert all(len(e["text"]["text"]) <= LABEL_LIMIT for e in elements)
    ids = [e["action_id"] for e in elements]
    assert len(set(ids)) == len(ids) and all(ACTION_ID.match(i) for i in ids)
    assert [action_of(e["value"], e["action_id"]) for e in elements[:3]] == [
        "claim:1",
        "resolve:1",
        "claim:1",
    ]
    assert action_of(None, "crossdesk:faq:shipping") == "faq:shipping"
    assert action_of(None, "somebody-else") is None


def test_reply_buttons_become_rows() -> None:
    reply = Reply(
        "Hi", buttons=((Button("A", "faq:a"), Button("B", "faq:b")), (Button("C", "human"),))
    )
    assert reply_rows(reply) == [[["A", "faq:a"], ["B", "faq:b"]], [["C", "human"]]]


@pytest.mark.parametrize(
    ("slack_text", "typed"),
    [
        ("a &lt;b&gt; &amp;amp; c", "a <b> &amp; c"),
        ("hi <@U123> in <#C1|general> and <#C2>", "hi @U123 in #general and #C2"),
        ("<!here> <!subteam^S1|@ops> look", "@here @ops look"),
        (
            "see <https://x.example/a?b=1&amp;c=2|the page>",
            "see the page (https://x.example/a?b=1&c=2)",
        ),
        ("<https://x.example> <mailto:a@b.example|a@b.example>", "https://x.example a@b.example"),
        ("<http://shop.example|shop.example> <mailto:a@b.example>", "shop.example a@b.example"),
        ("order #10234 — 🙂 مرحبا", "order #10234 — 🙂 مرحبا"),
    ],
)
def test_slack_markup_back_to_what_was_typed(slack_text: str, typed: str) -> None:
    assert plain_text(slack_text) == typed
