"""In-process avatar: a real AgentSession (no STT/LLM/TTS) → QueueAudioOutput → AvatarRunner.

Real ``rtc.AudioSource``/``VideoSource``/``AVSynchronizer`` and LiveKit's ``AvatarRunner``
run against a stand-in room; ``session.say(text, audio=...)`` drives playout and speech
handles interrupt it, as a TTS reply and a barge-in would.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from unittest.mock import patch

import pytest

pytest.importorskip("livekit.agents")

from livekit.agents import Agent, AgentSession  # noqa: E402
from livekit.agents.metrics.base import AvatarMetrics  # noqa: E402
from livekit.agents.testing import fake_job_context  # noqa: E402
from livekit.plugins import avatar_agent  # noqa: E402
from livekit.plugins.avatar_agent.generator import ConsumerClock  # noqa: E402
from lk_fakes import FakeRoom  # noqa: E402
from lk_helpers import PlaybackLog, new_session, record_frames, small_config, tone, wait_until  # noqa: E402

from avatar_agent.engine import AvatarEngine  # noqa: E402


async def _start(room: FakeRoom) -> tuple[AgentSession, avatar_agent.AvatarSession, AvatarEngine]:
    engine = AvatarEngine(config=small_config(), clock=ConsumerClock())
    avatar = avatar_agent.AvatarSession(engine=engine, metrics_interval=0)
    session = new_session()
    await avatar.start(session, room=room)  # before session.start, as documented
    await session.start(Agent(instructions="test"))
    return session, avatar, engine


def test_speaking_listening_positions_and_interruption() -> None:
    async def main() -> None:
        room = FakeRoom("agent-1")
        engine = AvatarEngine(config=small_config(), clock=ConsumerClock())
        frames = record_frames(engine)
        avatar = avatar_agent.AvatarSession(engine=engine, metrics_interval=0)
        metrics: list[AvatarMetrics] = []
        avatar.on("metrics_collected", metrics.append)
        session = new_session()
        agent_states: list[str] = []
        session.on("agent_state_changed", lambda ev: agent_states.append(ev.new_state))
        await avatar.start(session, room=room)
        assert avatar.avatar_identity == "agent-1"  # in-process: the agent publishes
        plog = PlaybackLog().attach(avatar.audio_output)
        await session.start(Agent(instructions="test"))

        # 1. a reply played to the end
        h1 = session.say("hello there", audio=tone(1.0))
        await asyncio.wait_for(h1.wait_for_playout(), 10)
        assert len(plog.finished) == 1
        pos, interrupted, _ = plog.finished[0]
        assert not interrupted
        assert pos == pytest.approx(1.0, abs=0.045)  # within one frame

        # 2. a longer reply interrupted through its speech handle
        h2 = session.say("a much longer sentence", audio=tone(3.0))
        assert await wait_until(lambda: len(plog.started) == 2, 5)
        started = time.monotonic()
        await asyncio.sleep(0.6)
        interrupted_at = time.monotonic()
        h2.interrupt()
        await asyncio.wait_for(h2.wait_for_playout(), 5)
        assert h2.interrupted
        pos, interrupted, _ = plog.finished[1]
        assert interrupted
        assert pos == pytest.approx(interrupted_at - started, abs=0.25)

        # 3. the user speaks: the avatar listens
        session._update_user_state("speaking")
        t_user = time.monotonic()
        await asyncio.sleep(0.8)
        session._update_user_state("listening")
        await asyncio.sleep(0.3)

        # no spurious playback_started: exactly one per reply
        assert len(plog.started) == 2
        assert len(plog.finished) == 2
        assert agent_states.count("speaking") == 2
        speech = frames.speech_states()
        assert speech and speech.count("speaking") >= 0.95 * len(speech)
        during_user = frames.states_between(t_user + 0.3, t_user + 0.8)
        assert during_user and during_user.count("listening") >= 0.8 * len(during_user)
        assert ("avatar_audio", 1) in room.local_participant.published
        assert ("avatar_video", 2) in room.local_participant.published
        assert any(m.avatar_joined_time for m in metrics)
        m = avatar.metrics()
        assert m["adapter"]["segments_finished"] == 1
        assert m["engine"]["frames_out"] > 0

        await session.aclose()
        await avatar.aclose()

    asyncio.run(main())


def test_200_rapid_interruptions_do_not_deadlock() -> None:
    """livekit/agents #3434: the avatar must not go deaf after many barge-ins."""

    async def main() -> None:
        room = FakeRoom("agent-2")
        session, avatar, _ = await _start(room)
        plog = PlaybackLog().attach(avatar.audio_output)
        rng = random.Random(0)
        mid_playback = 0
        for i in range(200):
            h = session.say(f"reply {i}", audio=tone(0.5))
            if i % 10 == 0:  # barge in while the avatar is speaking
                n = len(plog.started)
                assert await wait_until(lambda n=n: len(plog.started) > n, 5)
                mid_playback += 1
            await asyncio.sleep(rng.uniform(0.0, 0.03))  # else mostly before it speaks
            h.interrupt()
            await asyncio.wait_for(h.wait_for_playout(), 5)
            # every start has its finish: no stale frame started a playback
            assert len(plog.started) <= len(plog.finished), i
        assert mid_playback == 20 and len(plog.started) >= 20
        assert all(interrupted for _, interrupted, _ in plog.finished)
        # still hears and plays: a last reply plays to the end
        h = session.say("still here", audio=tone(0.4))
        await asyncio.wait_for(h.wait_for_playout(), 10)
        assert not h.interrupted
        pos, interrupted, _ = plog.finished[-1]
        assert not interrupted and pos == pytest.approx(0.4, abs=0.045)
        await asyncio.sleep(0.3)
        assert len(plog.started) <= len(plog.finished)
        await session.aclose()
        await avatar.aclose()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_two_jobs_in_a_row_in_one_process() -> None:
    """livekit/agents #4154: the second job of a worker process must work too."""

    async def job(n: int) -> None:
        room = FakeRoom(f"agent-job-{n}", name=f"room-{n}")
        with fake_job_context(room=room):  # type: ignore[arg-type]
            session, avatar, _ = await _start(room)
            plog = PlaybackLog().attach(avatar.audio_output)
            h = session.say("hi", audio=tone(0.4))
            await asyncio.wait_for(h.wait_for_playout(), 10)
            assert plog.finished and plog.finished[-1][1] is False
            assert plog.finished[-1][0] == pytest.approx(0.4, abs=0.045)
            assert len(plog.started) == 1
            await session.aclose()
            await avatar.aclose()

    async def main() -> None:
        await job(1)
        await job(2)

    asyncio.run(main())


def test_expression_tags_from_messages_and_from_the_tts_text() -> None:
    async def main() -> None:
        room = FakeRoom("agent-tags")
        session, avatar, engine = await _start(room)
        seen: list[tuple[str, float, float | None]] = []
        original = engine.set_expression

        def spy(name: object, intensity: float = 1.0, duration: float | None = None) -> None:
            seen.append((str(name), intensity, duration))
            original(name, intensity, duration)

        engine.set_expression = spy  # type: ignore[method-assign]

        # without tts_text(): tags left in the agent's message apply when it is added
        h = session.say("[happy:0.5] Hello there", audio=tone(0.3))
        await asyncio.wait_for(h.wait_for_playout(), 10)
        assert await wait_until(lambda: ("happy", 0.5, 3.0) in seen, 2)

        # with tts_text(): stripped before TTS, shown when the reply starts playing
        seen.clear()

        async def llm() -> AsyncIterator[str]:
            for chunk in ["[conc", "erned:0.6] Sorry about", " that. [smile] Bye."]:
                yield chunk

        spoken = "".join([c async for c in avatar.tts_text(llm())])
        assert spoken == "Sorry about that. Bye."
        assert seen == []  # not before its reply plays
        h = session.say("Sorry about that. Bye.", audio=tone(0.3))
        await asyncio.wait_for(h.wait_for_playout(), 10)
        assert seen[:2] == [("concerned", 0.6, 3.0), ("happy", 1.0, 3.0)]

        async def transcript() -> AsyncIterator[str]:
            for chunk in ["[happy] Hi", " [sad:0.2]there"]:
                yield chunk

        shown = "".join([c async for c in avatar.transcript_text(transcript())])
        assert shown == "Hi there"

        avatar.set_expression("surprised", intensity=0.8, duration=1.0)
        assert seen[-1] == ("surprised", 0.8, 1.0)
        await session.aclose()
        await avatar.aclose()

    asyncio.run(main())


def test_start_before_the_room_is_connected() -> None:
    """Entry points may call avatar.start before the room connects (ctx.connect later)."""

    async def main() -> None:
        room = FakeRoom("agent-late", connected=False)
        job = SimpleNamespace(local_participant_identity="agent-late")
        with patch("livekit.plugins.avatar_agent.avatar.get_job_context", lambda **_: job):
            session, avatar, _ = await _start(room)
        assert avatar.avatar_identity == "agent-late"
        plog = PlaybackLog().attach(avatar.audio_output)
        await asyncio.sleep(0.3)
        assert room._local.published == []  # nothing published before the room connects
        room.connect_now()
        h = session.say("hi", audio=tone(0.4))
        await asyncio.wait_for(h.wait_for_playout(), 10)
        assert plog.finished[-1][:2] == (pytest.approx(0.4, abs=0.045), False)
        assert ("avatar_video", 2) in room.local_participant.published
        await session.aclose()
        await avatar.aclose()

    asyncio.run(main())
