"""The LiveKit names the plugin relies on, its options, the adapter alone, and the CLI.

``test_every_livekit_name_the_plugin_uses`` lists every symbol of livekit-agents / livekit
the plugin touches, so an upstream rename fails here rather than at run time.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect

import numpy as np
import pytest

pytest.importorskip("livekit.agents")

from livekit import api, rtc  # noqa: E402
from livekit.agents.voice.avatar import AudioSegmentEnd  # noqa: E402
from livekit.plugins.avatar_agent.generator import ConsumerClock, EngineVideoGenerator  # noqa: E402
from lk_helpers import SR, small_config  # noqa: E402

from avatar_agent.engine import AvatarEngine  # noqa: E402

USED = {
    "livekit.rtc": [
        "AVSynchronizer", "AudioFrame", "AudioSource", "VideoSource", "VideoFrame",
        "VideoBufferType.RGB24", "Room", "Participant", "RemoteParticipant", "RpcError",
        "RpcError.ErrorCode.APPLICATION_ERROR", "RpcInvocationData", "TrackKind.KIND_VIDEO",
        "EventEmitter", "ByteStreamInfo", "ParticipantKind.PARTICIPANT_KIND_AGENT",
        "LocalAudioTrack", "LocalVideoTrack", "TextStreamInfo",
    ],
    "livekit.api": ["CreateAgentDispatchRequest", "LiveKitAPI", "RoomParticipantIdentity"],
    "livekit.agents": [
        "Agent", "AgentServer", "AgentSession", "AutoSubscribe.SUBSCRIBE_NONE", "JobContext",
        "JobExecutorType.THREAD", "JobProcess", "JobRequest", "Plugin", "get_job_context",
        "utils.is_given", "utils.aio.cancel_and_wait",
    ],
    "livekit.agents.types": [
        "ATTRIBUTE_AGENT_STATE", "ATTRIBUTE_PUBLISH_ON_BEHALF", "NOT_GIVEN", "NotGivenOr",
        "ATTRIBUTE_TRANSCRIPTION_EXPRESSION", "TOPIC_TRANSCRIPTION",
    ],
    "livekit.agents.voice": ["RemoteSession", "RemoteSession.from_room"],
    "livekit.agents.voice.avatar": [
        "AudioSegmentEnd", "AvatarOptions", "AvatarRunner", "AvatarRunner.av_sync",
        "AvatarSession", "AvatarSession.wait_for_join", "AvatarSession._emit_metrics",
        "DataStreamAudioOutput", "DataStreamAudioReceiver", "QueueAudioOutput",
        "VideoGenerator",
    ],
    "livekit.agents.voice.events": [
        "AgentStateChangedEvent", "ConversationItemAddedEvent", "SpeechCreatedEvent",
        "UserStateChangedEvent",
    ],
    "livekit.agents.voice.remote_session": ["RoomSessionTransport", "SessionHost"],
    "livekit.agents.voice.avatar._datastream_io": ["AUDIO_STREAM_TOPIC"],
    "livekit.agents.metrics.base": ["AvatarMetrics"],
    "livekit.agents.testing": ["fake_job_context"],
    "livekit.protocol.agent_pb.agent_session": [
        "AgentState.Name", "UserState.Name", "AS_SPEAKING", "AS_THINKING", "AS_LISTENING",
        "US_SPEAKING", "US_LISTENING", "US_AWAY",
    ],
}  # fmt: skip


def test_every_livekit_name_the_plugin_uses() -> None:
    missing = []
    for module_name, names in USED.items():
        module = importlib.import_module(module_name)
        for dotted in names:
            obj = module
            for part in dotted.split("."):
                obj = getattr(obj, part, None)
                if obj is None:
                    missing.append(f"{module_name}.{dotted}")
                    break
    assert not missing, f"renamed or removed upstream: {missing}"


def test_signatures_the_plugin_calls() -> None:
    from livekit.agents import AgentServer
    from livekit.agents.voice.avatar import (
        AvatarRunner,
        DataStreamAudioOutput,
        DataStreamAudioReceiver,
        QueueAudioOutput,
    )

    def params(f: object) -> set[str]:
        return set(inspect.signature(f).parameters)  # type: ignore[arg-type]

    assert {"audio_recv", "video_gen", "options"} <= params(AvatarRunner)
    assert "wait_playback_start" in params(QueueAudioOutput)
    assert {"destination_identity", "wait_remote_track", "wait_playback_start"} <= params(
        DataStreamAudioOutput
    )
    assert "sender_identity" in params(DataStreamAudioReceiver)
    assert {"setup_fnc", "load_fnc", "job_executor_type", "load_threshold"} <= params(AgentServer)
    assert {"agent_name", "on_request"} <= params(AgentServer.rtc_session)

    from livekit.agents import JobContext, JobRequest
    from livekit.protocol import agent

    assert {"identity", "attributes", "name"} <= params(JobRequest.accept)
    assert "terminate" in params(JobRequest.reject)
    assert "auto_subscribe" in params(JobContext.connect)
    for name in ("add_shutdown_callback", "shutdown", "proc", "job", "room", "api"):
        assert hasattr(JobContext, name), name
    assert "metadata" in agent.Job.DESCRIPTOR.fields_by_name
    assert "metadata" in api.CreateAgentDispatchRequest.DESCRIPTOR.fields_by_name


def test_plugin_registers_and_exports() -> None:
    from livekit.agents import Plugin
    from livekit.plugins import avatar_agent

    assert any(p.package == "livekit.plugins.avatar_agent" for p in Plugin.registered_plugins)
    for name in avatar_agent.__all__:
        assert hasattr(avatar_agent, name)
    assert avatar_agent.AvatarSession(mode="local").provider == "avatar-agent"


def test_options_fail_early_and_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from livekit.plugins import avatar_agent
    from livekit.plugins.avatar_agent.options import resolve_livekit_credentials
    from livekit.plugins.avatar_agent.runtime import load_shared_avatar

    with pytest.raises(avatar_agent.AvatarAgentPluginError, match="AVATAR_AGENT_MOTION_MODEL"):
        avatar_agent.AvatarSession(motion_model="/no/such/model.onnx")
    monkeypatch.setenv("AVATAR_AGENT_MOTION_MODEL", "/no/such/env-model.onnx")
    with pytest.raises(avatar_agent.AvatarAgentPluginError, match="from AVATAR_AGENT_MOTION"):
        avatar_agent.AvatarSession()
    monkeypatch.delenv("AVATAR_AGENT_MOTION_MODEL")
    with pytest.raises(avatar_agent.AvatarAgentPluginError, match="fps"):
        avatar_agent.AvatarSession(fps=5)
    with pytest.raises(avatar_agent.AvatarAgentPluginError, match="mode"):
        avatar_agent.AvatarSession(mode="cloud")  # type: ignore[arg-type]
    monkeypatch.setenv("AVATAR_AGENT_AVATAR", "/no/such/portrait.jpg")
    with pytest.raises(avatar_agent.AvatarAgentPluginError, match="AVATAR_AGENT_AVATAR"):
        load_shared_avatar(None, size=128)
    for var in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LIVEKIT_URL", "ws://localhost:7880")
    with pytest.raises(avatar_agent.AvatarAgentPluginError) as err:
        resolve_livekit_credentials(None, None, None)
    assert "LIVEKIT_API_KEY" in str(err.value) and "LIVEKIT_URL" not in str(err.value)
    assert resolve_livekit_credentials(None, "k", "s") == ("ws://localhost:7880", "k", "s")


def test_adapter_withholds_stale_audio_and_marks_segment_ends() -> None:
    """Straight against the engine: audio only for live segments, ends only when played."""

    async def main() -> None:
        engine = AvatarEngine(config=small_config(realtime=False), clock=ConsumerClock())
        gen = EngineVideoGenerator(engine, metrics_interval=0)
        await gen.start()
        out: list[object] = []
        tone = (np.sin(np.arange(SR // 2) / SR * 2 * np.pi * 200) * 8000).astype(np.int16)

        async def consume(n: int) -> None:
            async for item in it:
                out.append(item)
                if sum(isinstance(x, rtc.VideoFrame) for x in out) >= n:
                    return

        it = gen.__aiter__()
        await gen.push_audio(rtc.AudioFrame(tone.tobytes(), SR, 1, len(tone)))
        await gen.push_audio(AudioSegmentEnd())
        await consume(40)  # 0.5 s of speech and some idle
        audio = [x for x in out if isinstance(x, rtc.AudioFrame)]
        assert sum(a.samples_per_channel for a in audio) == pytest.approx(SR // 2, abs=SR // 25)
        assert sum(isinstance(x, AudioSegmentEnd) for x in out) == 1
        first_end = next(i for i, x in enumerate(out) if isinstance(x, AudioSegmentEnd))
        assert isinstance(out[first_end - 1], rtc.AudioFrame)  # right after its last slice
        assert all(f.width == 128 and f.height == 128 for f in out if isinstance(f, rtc.VideoFrame))

        out.clear()
        long = np.tile(tone, 6)
        await gen.push_audio(rtc.AudioFrame(long.tobytes(), SR, 1, len(long)))
        await consume(5)  # the "runner" holds a frame whose audio is still to come
        settle = asyncio.ensure_future(gen.clear_buffer())
        await asyncio.sleep(0.05)
        assert not settle.done()  # waits until the runner pushed what it had taken
        mark = len(out)
        await consume(30)
        assert settle.done()
        after = out[mark:]
        assert not any(isinstance(x, rtc.AudioFrame) for x in after)  # nothing stale
        assert not any(isinstance(x, AudioSegmentEnd) for x in after)
        assert gen.stats.segments_interrupted == 1
        await engine.aclose()

    asyncio.run(main())


def test_cli_worker_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    from avatar_agent.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["worker", "--help"])
    assert exc.value.code == 0
    assert "--agent-name" in capsys.readouterr().out


def test_build_server_registers_the_dispatch_name() -> None:
    from livekit.agents import JobExecutorType
    from livekit.plugins.avatar_agent.options import AvatarAgentPluginError
    from livekit.plugins.avatar_agent.runtime import EngineSettings
    from livekit.plugins.avatar_agent.worker import WorkerSettings, build_server

    settings = WorkerSettings(agent_name="my-avatar", engine=EngineSettings(size=128))
    server = build_server(settings, ws_url="ws://localhost:7880", api_key="k", api_secret="s")
    assert server._agent_name == "my-avatar"
    assert server.setup_fnc is not None and server.load_fnc is not None
    with pytest.raises(AvatarAgentPluginError):
        build_server(settings, job_executor_type=JobExecutorType.PROCESS)


def test_turn_states_and_moods_map_to_engine_signals() -> None:
    from livekit.plugins.avatar_agent.signals import TurnSignals, mood_cue

    class Engine:
        def __init__(self) -> None:
            self.calls: list[object] = []

        def signal(self, sig: object) -> None:
            self.calls.append(getattr(sig, "value", sig))

        def set_expression(self, *a: object, **k: object) -> None:
            self.calls.append(("expr", a, k))

    engine = Engine()
    sig = TurnSignals(engine)  # type: ignore[arg-type]
    for state in ("speaking", "listening", "away", "listening"):
        sig.on_user_state(state)
    for state in ("listening", "thinking", "speaking", "speaking", "listening"):
        sig.on_agent_state(state)
    assert engine.calls == [
        "user_started_speaking", "user_stopped_speaking", "user_away", "user_back",
        "agent_listening", "agent_thinking", "agent_speaking", "agent_listening",
    ]  # fmt: skip
    cue = mood_cue('{"expression": "with genuine care", "mood": "empathetic"}')
    assert cue is not None and cue.name == "concerned" and cue.intensity == 0.5
    assert mood_cue(None) is None and mood_cue("not json") is None
    assert mood_cue('{"mood": "unknown-mood"}') is None


def test_adapter_keeps_the_engine_on_schedule_when_livekit_starts_late_or_stalls() -> None:
    """A late or stalled consumer must not leave the engine skipping renders (frozen video)."""
    import time

    async def main() -> None:
        engine = AvatarEngine(config=small_config(), clock=ConsumerClock())
        gen = EngineVideoGenerator(engine, metrics_interval=0)
        await gen.start()
        it = gen.__aiter__()

        async def take(n: int) -> float:
            t0, k = time.monotonic(), 0
            async for item in it:
                k += isinstance(item, rtc.VideoFrame)
                if k >= n:
                    break
            return time.monotonic() - t0

        time.sleep(0.3)  # LiveKit starts pulling late (a busy loop at session start)
        await take(3)
        assert 0.25 < await take(10) < 1.2  # paced, not bursting
        for stall in (0.3, 1.0):  # the event loop blocks
            time.sleep(stall)
            await take(2)
            assert 0.25 < await take(10) < 1.2  # back at 25 fps, no freeze
        assert engine.metrics().dropped_frames <= 8
        await engine.aclose()

    asyncio.run(main())
