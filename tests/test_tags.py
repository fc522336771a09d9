"""Inline expression tags: syntax, aliases, positions, streaming."""

from __future__ import annotations

import pytest

from avatar_agent.generator.conditions import EXPRESSIONS
from avatar_agent.tags import ALIASES, ExpressionCue, TagStripper, resolve_expression, strip_tags


def test_strip_and_positions():
    res = strip_tags("[happy] Great news! [concerned:0.6] But one thing...")
    assert res.text == "Great news! But one thing..."
    assert res.cues == (
        ExpressionCue(0, "happy", 1.0, "[happy]"),
        ExpressionCue(12, "concerned", 0.6, "[concerned:0.6]"),
    )
    assert res.text[12:].startswith("But")


@pytest.mark.parametrize(
    ("text", "clean", "name", "intensity"),
    [
        ("Hello [smile] there", "Hello there", "happy", 1.0),
        ("Hi[smile] you", "Hi you", "happy", 1.0),
        ("[Surprised] Oh!", "Oh!", "surprised", 1.0),
        ("x [happy:50%] y", "x y", "happy", 0.5),
        ("x [happy: 0.25 ] y", "x y", "happy", 0.25),
        ("x [happy:60] y", "x y", "happy", 0.6),
        ("well [thinking] maybe", "well maybe", "thinking", 1.0),
        ("oh [sad] no", "oh no", "sad", 1.0),
        ("ok [neutral] then", "ok then", "neutral", 1.0),
        ("ok [worried] then", "ok then", "concerned", 1.0),
        ("[wow]!", "!", "surprised", 1.0),
        ("ok [happy:7] then", "ok then", "happy", 0.07),
    ],
)
def test_syntax_and_aliases(text, clean, name, intensity):
    res = strip_tags(text)
    assert res.text == clean
    assert [(c.expression, c.intensity) for c in res.cues] == [(name, pytest.approx(intensity))]


def test_unknown_brackets_are_left_alone_unless_asked():
    res = strip_tags("See note [1] and [citation needed] [grumpy] ok")
    assert res.text == "See note [1] and [citation needed] [grumpy] ok"
    assert res.cues == ()
    assert res.unknown == ("[citation needed]", "[grumpy]")
    res2 = strip_tags("Hmm [grumpy] ok [citation needed]", strip_unknown=True)
    assert res2.text == "Hmm ok [citation needed]"


def test_every_name_and_alias_resolves():
    for name in EXPRESSIONS:
        assert resolve_expression(name) == name
        assert resolve_expression(name.upper()) == name
    for alias, name in ALIASES.items():
        assert resolve_expression(alias) == name
    with pytest.raises(ValueError, match="unknown expression"):
        resolve_expression("smug")


def test_stream_stripper_matches_one_shot():
    text = "[happy] Great news, your order shipped! [concerned:0.6] But it may be late. [smile]"
    one = strip_tags(text)
    for size in (1, 2, 3, 5, 8, 13):
        st = TagStripper()
        out, cues = [], []
        for i in range(0, len(text), size):
            t, c = st.feed(text[i : i + size])
            out.append(t)
            cues += c
        t, c = st.flush()
        out.append(t)
        cues += c
        assert "".join(out) == one.text, size
        assert [(c.position, c.expression, c.intensity) for c in cues] == [
            (c.position, c.expression, c.intensity) for c in one.cues
        ], size


def test_stream_stripper_releases_plain_brackets():
    st = TagStripper()
    a, _ = st.feed("array[")
    b, _ = st.feed("0] is fine")
    c, _ = st.flush()
    assert a + b + c == "array[0] is fine"
    st2 = TagStripper()
    a, _ = st2.feed("unclosed [bracket that goes on")
    b, _ = st2.flush()
    assert a + b == "unclosed [bracket that goes on"
