"""Behaviour: labels with hysteresis, expression easing, and a scripted conversation."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest

from avatar_agent.assets import asset_path
from avatar_agent.audio import load_audio
from avatar_agent.behavior import Behavior, BehaviorConfig, ExpressionMixer, Signal
from avatar_agent.engine import AvatarEngine, EngineConfig, SimulatedClock
from avatar_agent.generator.conditions import EXPRESSION_NAMES, expression_vector
from avatar_agent.motion import PARAM_INDEX


def collapse(labels):
    return [k for k, _ in itertools.groupby(labels)]


def test_labels_follow_a_conversation():
    b = Behavior()
    seq = []

    def at(t, speech=False):
        seq.append(b.update(t, speech))

    for t in np.arange(0, 1, 0.04):
        at(t)
    for t in np.arange(1, 3, 0.04):
        at(t, speech=True)
    b.signal(Signal.USER_STARTED_SPEAKING, 3.0)
    b.interrupt(3.0)
    for t in np.arange(3, 5, 0.04):
        at(t)
    b.signal("user_stopped_speaking", 5.0)
    b.signal(Signal.AGENT_THINKING, 5.2)
    for t in np.arange(5, 6, 0.04):
        at(t)
    for t in np.arange(6, 8, 0.04):
        at(t, speech=True)
    for t in np.arange(8, 20, 0.04):
        at(t)
    assert collapse(seq) == ["idle", "speaking", "listening", "thinking", "speaking",
                             "listening", "idle"]  # fmt: skip


def test_speaking_bridges_short_gaps_and_starts_at_once():
    b = Behavior()
    assert b.update(0.0, True) == "speaking"  # no dwell before speaking: lips must not lag
    assert b.update(0.1, False) == "speaking"  # gap between two segments of one reply
    assert b.update(0.2, True) == "speaking"
    assert b.update(0.3, False) == "speaking"
    assert b.update(0.3 + b.config.speak_release_s + 0.01, False) == "listening"


def test_flickering_signals_do_not_flicker_the_label():
    b = Behavior(BehaviorConfig(min_dwell_s=0.3))
    labels = []
    for i in range(50):
        t = i * 0.04
        b.signal(Signal.AGENT_THINKING if i % 2 else Signal.AGENT_LISTENING, t)
        labels.append(b.update(t, False))
    changes = sum(1 for a, c in itertools.pairwise(labels) if a != c)
    assert changes <= 2 / 0.3 + 1  # at most one change per dwell time


def test_user_away_and_back():
    b = Behavior()
    b.signal(Signal.USER_BACK, 0.0)
    assert b.update(0.5, False) == "listening"
    b.signal(Signal.USER_AWAY, 1.0)
    assert b.update(1.5, False) == "idle"
    with pytest.raises(ValueError):
        b.signal("dance", 2.0)


def test_listening_nod_after_user_pause():
    b = Behavior()
    b.signal(Signal.USER_STARTED_SPEAKING, 0.0)
    b.update(0.5, False)
    assert b.nod_pitch(0.6) == 0.0
    b.signal(Signal.USER_STOPPED_SPEAKING, 1.0)
    b.update(1.0, False)
    pitch = [b.nod_pitch(1.0 + k * 0.04) for k in range(30)]
    assert max(pitch) == pytest.approx(b.config.nod_deg, rel=0.05)
    assert pitch[0] == 0.0 and pitch[-1] == 0.0
    assert np.abs(np.diff(pitch)).max() < 0.6  # a smooth bump


def test_expression_mixer_eases_holds_and_releases():
    mix = ExpressionMixer(ease_s=0.3)
    happy = expression_vector("happy", 0.8)
    mix.set(happy, 1.0, duration=1.0)
    k = EXPRESSION_NAMES.index("happy")
    t = np.arange(0.0, 3.0, 0.01)
    v = np.array([mix.value(x)[k] for x in t])
    assert v[t < 1.0].max() == 0.0
    assert v[(t >= 1.3) & (t < 2.3)].min() == pytest.approx(0.8)
    assert v[t >= 2.6].max() == 0.0
    assert np.abs(np.diff(v)).max() < 0.8 * 0.01 / 0.3 * 1.6  # smoothstep's peak slope 1.5
    # a new cue mid-ease starts from the current value: no jump
    mix2 = ExpressionMixer(0.3)
    mix2.set(expression_vector("happy"), 0.0)
    mid = mix2.value(0.15).copy()
    mix2.set(expression_vector("sad"), 0.15)
    assert np.allclose(mix2.value(0.15), mid)


def test_engine_scripted_conversation_labels():
    speech = load_audio(asset_path("demo.wav"), 16000)
    script = {
        10: lambda e: (e.push_audio(speech[:32000], 16000), e.end_segment()),
        45: lambda e: (e.signal(Signal.USER_STARTED_SPEAKING), e.clear()),
        80: lambda e: e.signal(Signal.USER_STOPPED_SPEAKING),
        90: lambda e: e.signal(Signal.AGENT_THINKING),
        130: lambda e: (
            e.set_expression("happy", 0.7, duration=1.0),
            e.push_audio(speech[:24000], 16000),
            e.end_segment(),
        ),
    }

    async def main():
        cfg = EngineConfig(size=32, realtime=False, driver="baseline")
        async with AvatarEngine(None, cfg, SimulatedClock()) as eng:
            it = eng.frames().__aiter__()
            frames = []
            for i in range(420):
                if i in script:
                    script[i](eng)
                frames.append(await asyncio.wait_for(it.__anext__(), 20))
            return frames

    frames = asyncio.run(main())
    labels = [f.state for f in frames]
    assert collapse(labels) == ["idle", "speaking", "listening", "thinking", "speaking",
                                "listening", "idle"]  # fmt: skip
    # the labels change within a few frames of the script (the pipeline is 2-3 frames deep)
    first_speaking = labels.index("speaking")
    assert 10 <= first_speaking <= 14
    assert labels[45 + 4] == "listening"
    # thinking looks aside (the driver's gaze), speaking moves the mouth
    look_up = PARAM_INDEX["eyeLookUpLeft"]
    thinking = [f for f in frames if f.state == "thinking"]
    assert np.mean([f.motion[look_up] for f in thinking[-5:]]) > 0.15
    jaw = [f.motion[PARAM_INDEX["jawOpen"]] for f in frames if f.state == "speaking"]
    assert max(jaw) > 0.2
    # the expression cue of the second reply eased in
    happy = EXPRESSION_NAMES.index("happy")
    assert max(f.expression[happy] for f in frames) == pytest.approx(0.7)
