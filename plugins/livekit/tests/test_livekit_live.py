"""Against a real LiveKit server; skipped unless LIVEKIT_URL/API_KEY/API_SECRET are set.

Start one locally with ``livekit-server --dev`` (binaries from https://github.com/livekit/
livekit/releases, Homebrew ``brew install livekit``, or ``docker run --rm -p 7880:7880
-p 7881:7881 -p 7882:7882/udp livekit/livekit-server --dev``), then::

    LIVEKIT_URL=ws://localhost:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \\
        .venv/bin/python -m pytest -q plugins/livekit/tests/test_livekit_live.py

A "user" participant subscribes to everything, as a frontend would. In-process: the agent's
own participant publishes the avatar. Remote: a second agent-kind participant with
``lk.publish_on_behalf`` runs the worker's job and the audio goes over byte streams.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("livekit.agents")

from livekit import api, rtc  # noqa: E402
from livekit.agents import Agent  # noqa: E402
from livekit.agents.types import ATTRIBUTE_PUBLISH_ON_BEHALF  # noqa: E402
from livekit.plugins import avatar_agent  # noqa: E402
from livekit.plugins.avatar_agent.generator import ConsumerClock  # noqa: E402
from livekit.plugins.avatar_agent.options import DispatchInfo  # noqa: E402
from livekit.plugins.avatar_agent.runtime import EngineSettings, make_engine  # noqa: E402
from livekit.plugins.avatar_agent.worker import AvatarWorkerJob  # noqa: E402
from lk_helpers import PlaybackLog, new_session, small_config, tone  # noqa: E402

from avatar_agent.engine import AvatarEngine  # noqa: E402

ENV = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")
pytestmark = pytest.mark.skipif(
    not all(os.environ.get(v) for v in ENV),
    reason="needs a LiveKit server: set LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET "
    "(e.g. `livekit-server --dev`: ws://localhost:7880, devkey, secret)",
)


def _token(room: str, identity: str, *, kind: str, attributes: dict[str, str] | None = None) -> str:
    tok = (
        api.AccessToken(os.environ["LIVEKIT_API_KEY"], os.environ["LIVEKIT_API_SECRET"])
        .with_identity(identity)
        .with_kind(kind)
        .with_grants(api.VideoGrants(room_join=True, room=room))
    )
    if attributes:
        tok = tok.with_attributes(attributes)
    return tok.to_jwt()


async def _join(room_name: str, identity: str, *, kind: str, **kw: Any) -> rtc.Room:
    room = rtc.Room()
    await room.connect(os.environ["LIVEKIT_URL"], _token(room_name, identity, kind=kind, **kw))
    return room


async def _watch_video(user: rtc.Room, publisher: str, frames: int) -> int:
    """Frames of ``publisher``'s camera track the user receives (waits for the track)."""
    track_fut: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    def on_sub(track: rtc.Track, pub: Any, participant: rtc.RemoteParticipant) -> None:
        if participant.identity == publisher and track.kind == rtc.TrackKind.KIND_VIDEO:
            if not track_fut.done():
                track_fut.set_result(track)

    user.on("track_subscribed", on_sub)
    for p in user.remote_participants.values():
        for pub in p.track_publications.values():
            if p.identity == publisher and pub.track and pub.kind == rtc.TrackKind.KIND_VIDEO:
                track_fut.set_result(pub.track)
    track = await asyncio.wait_for(track_fut, 20)
    stream = rtc.VideoStream(track)
    n = 0
    async for _ in stream:
        n += 1
        if n >= frames:
            break
    await stream.aclose()
    return n


def test_live_in_process_avatar() -> None:
    async def main() -> None:
        name = f"avatar-test-{uuid.uuid4().hex[:8]}"
        agent_room = await _join(name, "agent", kind="agent")
        user = await _join(name, "user", kind="standard")
        engine = AvatarEngine(config=small_config(), clock=ConsumerClock())
        avatar = avatar_agent.AvatarSession(engine=engine, metrics_interval=0)
        session = new_session()
        await avatar.start(session, room=agent_room)
        plog = PlaybackLog().attach(avatar.audio_output)
        await session.start(Agent(instructions="test"))
        watcher = asyncio.create_task(_watch_video(user, "agent", 25))
        h = session.say("hello", audio=tone(1.0))
        await asyncio.wait_for(h.wait_for_playout(), 30)
        assert plog.finished[-1][1] is False
        assert plog.finished[-1][0] == pytest.approx(1.0, abs=0.045)
        assert await watcher == 25
        await session.aclose()
        await avatar.aclose()
        await user.disconnect()
        await agent_room.disconnect()

    asyncio.run(asyncio.wait_for(main(), 90))


class _LiveDispatch(avatar_agent.AvatarSession):
    """Remote AvatarSession whose worker is started here instead of by agent dispatch."""

    job: AvatarWorkerJob | None = None
    worker_room: rtc.Room | None = None

    async def _create_dispatch(self, request: api.CreateAgentDispatchRequest) -> Any:
        info = DispatchInfo.from_json(request.metadata)
        self.worker_room = await _join(
            request.room,
            info.avatar_identity,
            kind="agent",
            attributes={ATTRIBUTE_PUBLISH_ON_BEHALF: info.agent_identity},
        )
        engine = make_engine(None, EngineSettings(size=128, driver="baseline"))
        self.job = AvatarWorkerJob(
            self.worker_room, agent_identity=info.agent_identity, engine=engine
        )
        await self.job.start()
        return SimpleNamespace(id="")


def test_live_remote_worker() -> None:
    async def main() -> None:
        name = f"avatar-test-{uuid.uuid4().hex[:8]}"
        agent_room = await _join(name, "agent", kind="agent")
        user = await _join(name, "user", kind="standard")
        avatar = _LiveDispatch(mode="remote")
        session = new_session()
        await avatar.start(session, room=agent_room)
        plog = PlaybackLog().attach(avatar.audio_output)
        await session.start(Agent(instructions="test"))
        watcher = asyncio.create_task(_watch_video(user, avatar.avatar_identity, 25))
        await avatar.wait_for_join(timeout=30)
        h = session.say("hello", audio=tone(1.0))
        await asyncio.wait_for(h.wait_for_playout(), 30)
        assert plog.finished[-1][1] is False
        assert plog.finished[-1][0] == pytest.approx(1.0, abs=0.045)
        assert await watcher == 25
        await session.aclose()
        await avatar.aclose()
        assert avatar.job is not None and avatar.worker_room is not None
        await avatar.job.aclose()
        await avatar.worker_room.disconnect()
        await user.disconnect()
        await agent_room.disconnect()

    asyncio.run(asyncio.wait_for(main(), 90))
