"""Dispatched worker: agent and avatar in two stand-in rooms joined by an in-memory hub.

The agent side is a real ``AgentSession`` with ``AvatarSession(mode="remote")`` and
LiveKit's ``DataStreamAudioOutput``; its ``SessionHost`` broadcasts the session events on
``lk.agent.session``. The avatar side is the worker's real job entrypoint
(``AvatarWorkerService``) with ``DataStreamAudioReceiver``, ``RemoteSession`` and
``AvatarRunner``. Byte streams and RPC go through the hub.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("livekit.agents")

from livekit import api, rtc  # noqa: E402
from livekit.agents import Agent, AgentSession  # noqa: E402
from livekit.agents.types import ATTRIBUTE_PUBLISH_ON_BEHALF  # noqa: E402
from livekit.agents.voice.remote_session import RoomSessionTransport, SessionHost  # noqa: E402
from livekit.plugins import avatar_agent  # noqa: E402
from livekit.plugins.avatar_agent.options import RPC_SET_EXPRESSION, DispatchInfo  # noqa: E402
from livekit.plugins.avatar_agent.runtime import EngineSettings  # noqa: E402
from livekit.plugins.avatar_agent.worker import (  # noqa: E402
    AvatarWorkerJob,
    AvatarWorkerService,
    Capacity,
    WorkerSettings,
)
from lk_fakes import FakeHub  # noqa: E402
from lk_helpers import SIZE, PlaybackLog, new_session, tone, wait_until  # noqa: E402


@dataclass
class FakeJobRequest:
    metadata: str
    id: str = "AJ_test"
    accepted: dict[str, Any] | None = None
    rejected: bool | None = None  # the terminate flag

    @property
    def job(self) -> Any:
        return SimpleNamespace(metadata=self.metadata, id=self.id)

    async def accept(self, **kwargs: Any) -> None:
        self.accepted = kwargs

    async def reject(self, *, terminate: bool = True) -> None:
        self.rejected = terminate


@dataclass
class FakeJobContext:
    room: Any
    metadata: str
    proc: Any = field(default_factory=lambda: SimpleNamespace(userdata={}))
    callbacks: list[Any] = field(default_factory=list)
    shutdown_reason: str | None = None

    @property
    def job(self) -> Any:
        return SimpleNamespace(metadata=self.metadata, id="AJ_test")

    def add_shutdown_callback(self, cb: Any) -> None:
        self.callbacks.append(cb)

    def shutdown(self, reason: str = "") -> None:
        self.shutdown_reason = reason

    async def connect(self, **kwargs: Any) -> None:
        return None

    async def run_shutdown(self) -> None:
        for cb in self.callbacks:
            await cb("test")


def worker_settings(**kw: Any) -> WorkerSettings:
    return WorkerSettings(
        engine=EngineSettings(size=SIZE, driver="baseline"),
        capacity=Capacity(cores=2.0, **kw),
        metrics_interval=0,
        calibrate=False,
    )


class DispatchingAvatar(avatar_agent.AvatarSession):
    """Remote AvatarSession whose dispatch lands on an in-memory worker, not LiveKit's API."""

    def __init__(self, hub: FakeHub, service: AvatarWorkerService, **kw: Any) -> None:
        super().__init__(mode="remote", **kw)
        self.hub, self.service = hub, service
        self.requests: list[api.CreateAgentDispatchRequest] = []
        self.worker_ctx: FakeJobContext | None = None
        self.worker_task: asyncio.Task[None] | None = None
        self.deleted: list[str] = []

    async def _create_dispatch(self, request: api.CreateAgentDispatchRequest) -> Any:
        self.requests.append(request)
        req = FakeJobRequest(request.metadata)
        await self.service.on_request(req)  # type: ignore[arg-type]
        assert req.accepted is not None
        room = self.hub.join(
            req.accepted["identity"],
            attributes=req.accepted["attributes"],
            name=request.room,
        )
        self.worker_ctx = FakeJobContext(room, request.metadata)
        self.worker_task = asyncio.create_task(self.service.entrypoint(self.worker_ctx))  # type: ignore[arg-type]
        return SimpleNamespace(id="AD_test")

    async def _delete_dispatch(self, dispatch_id: str, room_name: str) -> None:
        self.deleted.append(dispatch_id)

    def worker_job(self) -> AvatarWorkerJob:
        jobs = list(self.service.capacity._jobs)
        assert len(jobs) == 1
        return jobs[0]


async def _agent(hub: FakeHub, service: AvatarWorkerService, identity: str) -> Any:
    room = hub.join(identity, name="room-" + identity)
    session = new_session()
    host = SessionHost(RoomSessionTransport(room))  # what session.start(room=...) sets up
    host.register_session(session)
    avatar = DispatchingAvatar(hub, service, expression="happy")
    await avatar.start(session, room=room)
    await host.start()
    await session.start(Agent(instructions="test"))
    await avatar.wait_for_join(timeout=10)
    return room, session, host, avatar


async def _close(session: AgentSession, host: SessionHost, avatar: DispatchingAvatar) -> None:
    await session.aclose()
    await host.aclose()
    await avatar.aclose()
    assert avatar.worker_ctx is not None
    await avatar.worker_ctx.run_shutdown()
    assert avatar.worker_task is not None
    await avatar.worker_task


def test_remote_worker_plays_interrupts_and_follows_turns() -> None:
    async def main() -> None:
        hub = FakeHub()
        service = AvatarWorkerService(worker_settings())
        room, session, host, avatar = await _agent(hub, service, "agent-r")
        assert avatar.requests[0].agent_name == "avatar-agent"
        info = DispatchInfo.from_json(avatar.requests[0].metadata)
        assert info.agent_identity == "agent-r" and info.expression == "happy"
        avatar_room = hub.rooms[avatar.avatar_identity]
        # the worker publishes on behalf of the agent
        assert avatar_room.local_participant.attributes[ATTRIBUTE_PUBLISH_ON_BEHALF] == "agent-r"
        assert ("avatar_video", rtc.TrackKind.KIND_VIDEO) in avatar_room.local_participant.published
        job = avatar.worker_job()
        plog = PlaybackLog().attach(avatar.audio_output)

        h1 = session.say("hello", audio=tone(1.0))
        await asyncio.wait_for(h1.wait_for_playout(), 10)
        pos, interrupted, _ = plog.finished[-1]
        assert not interrupted and pos == pytest.approx(1.0, abs=0.045)

        h2 = session.say("long", audio=tone(3.0))
        assert await wait_until(lambda: len(plog.started) == 2, 5)
        started = time.monotonic()
        await asyncio.sleep(0.6)
        cut = time.monotonic()
        h2.interrupt()
        await asyncio.wait_for(h2.wait_for_playout(), 5)
        pos, interrupted, _ = plog.finished[-1]
        assert interrupted and pos == pytest.approx(cut - started, abs=0.3)

        # turn-taking reaches the worker over lk.agent.session
        session._update_user_state("speaking")
        assert await wait_until(lambda: job.signals.user_state == "speaking", 3)
        session._update_user_state("listening")
        assert await wait_until(lambda: job.signals.user_state == "listening", 3)
        assert await wait_until(lambda: job.signals.agent_state == "listening", 3)

        # expressions go over RPC
        seen: list[tuple[str, float]] = []
        original = job.engine.set_expression

        def spy(name: Any, intensity: float = 1.0, duration: float | None = None) -> None:
            seen.append((name, intensity))
            original(name, intensity, duration)

        job.engine.set_expression = spy  # type: ignore[method-assign]
        avatar.set_expression("concerned", intensity=0.5)
        assert await wait_until(lambda: ("concerned", 0.5) in seen, 3)
        assert ("agent-r", avatar.avatar_identity, RPC_SET_EXPRESSION) in hub.rpc_log

        # an expressive TTS's mood, reported on the agent's transcription stream
        await room.local_participant.send_text(
            "Great news!",
            topic="lk.transcription",
            attributes={"lk.expression": '{"expression":"speak happily","mood":"excited"}'},
        )
        assert await wait_until(lambda: ("happy", 0.9) in seen, 3)

        assert len(plog.started) == 2
        assert service.load() > 0
        await _close(session, host, avatar)
        assert avatar.deleted == ["AD_test"]
        assert service.capacity.streams == 0

    asyncio.run(asyncio.wait_for(main(), 60))


def test_remote_rapid_interruptions_and_two_jobs_in_a_row() -> None:
    """#3434 over the byte-stream path, and #4154: a second job in the same process."""

    async def job(hub: FakeHub, service: AvatarWorkerService, n: int, interrupts: int) -> None:
        room, session, host, avatar = await _agent(hub, service, f"agent-{n}")
        plog = PlaybackLog().attach(avatar.audio_output)
        for i in range(interrupts):
            h = session.say(f"r{i}", audio=tone(0.5))
            if i % 5 == 0:  # barge in while the avatar is speaking
                n = len(plog.started)
                assert await wait_until(lambda n=n: len(plog.started) > n, 5)
            await asyncio.sleep(0.01 * (i % 4))
            h.interrupt()
            await asyncio.wait_for(h.wait_for_playout(), 5)
            assert len(plog.started) <= len(plog.finished), i
        h = session.say("final", audio=tone(0.4))
        await asyncio.wait_for(h.wait_for_playout(), 10)
        pos, interrupted, _ = plog.finished[-1]
        assert not interrupted and pos == pytest.approx(0.4, abs=0.045)
        await asyncio.sleep(0.2)
        assert len(plog.started) <= len(plog.finished)
        await _close(session, host, avatar)
        await room.disconnect()

    async def main() -> None:
        hub = FakeHub()
        service = AvatarWorkerService(worker_settings())
        await job(hub, service, 1, interrupts=40)
        await job(hub, service, 2, interrupts=5)

    asyncio.run(asyncio.wait_for(main(), 60))


def test_capacity_admission_and_load() -> None:
    cap = Capacity(cores=2.0, threshold=0.8, estimate=0.5)
    assert cap.load() == 0.0
    assert cap.try_admit() and cap.try_admit() and cap.try_admit()  # 3 x 0.5 / 2 = 0.75
    assert not cap.try_admit()  # 4 x 0.5 / 2 = 1.0 > 0.8
    assert cap.load() == pytest.approx(0.75)
    cap.release()
    assert cap.streams == 2
    capped = Capacity(cores=64.0, max_streams=1, estimate=0.01)
    assert capped.try_admit() and not capped.try_admit()
    assert capped.load() == 1.0
    stale = Capacity(cores=2.0, estimate=0.5, reservation_timeout=0.0)
    assert stale.try_admit()
    assert stale.streams == 0  # an accepted job that never arrived frees its slot


def test_on_request_accepts_refuses_and_rejects() -> None:
    async def main() -> None:
        service = AvatarWorkerService(worker_settings(max_streams=1))
        meta = DispatchInfo("agent-x", "avatar-agent-agent-x").to_json()
        ok = FakeJobRequest(meta)
        await service.on_request(ok)  # type: ignore[arg-type]
        assert ok.accepted == {
            "name": "avatar",
            "identity": "avatar-agent-agent-x",
            "attributes": {ATTRIBUTE_PUBLISH_ON_BEHALF: "agent-x"},
        }
        full = FakeJobRequest(meta)
        await service.on_request(full)  # type: ignore[arg-type]
        assert full.accepted is None and full.rejected is False  # try another worker
        bad = FakeJobRequest(json.dumps({"hello": 1}))
        await service.on_request(bad)  # type: ignore[arg-type]
        assert bad.rejected is True

    asyncio.run(main())
