"""``AvatarSession``: add the avatar to a LiveKit ``AgentSession``, in-process or dispatched."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from livekit import api, rtc
from livekit.agents import get_job_context, utils
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.voice.avatar import (
    AvatarOptions,
    AvatarRunner,
    DataStreamAudioOutput,
    QueueAudioOutput,
)
from livekit.agents.voice.avatar import AvatarSession as _BaseAvatarSession
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    ConversationItemAddedEvent,
    SpeechCreatedEvent,
    UserStateChangedEvent,
)

from avatar_agent.engine import AvatarEngine
from avatar_agent.tags import TagStripper, strip_tags

from .generator import EngineVideoGenerator
from .log import logger
from .options import (
    AGENT_NAME_ENV,
    DEFAULT_AGENT_NAME,
    RPC_SET_EXPRESSION,
    AvatarAgentPluginError,
    DispatchInfo,
    resolve_livekit_credentials,
    resolve_motion_model,
)
from .runtime import AvatarSpec, EngineSettings, make_engine
from .signals import ExpressionCue, TurnSignals, expression_cues

if TYPE_CHECKING:
    from livekit.agents import AgentSession

__all__ = ["AvatarSession"]

PROVIDER = "avatar-agent"


class AvatarSession(_BaseAvatarSession):
    """A self-hosted talking-head avatar for a LiveKit ``AgentSession``.

    Add it with two lines before ``session.start``::

        avatar = avatar_agent.AvatarSession()
        await avatar.start(session, room=ctx.room)
        await session.start(agent=MyAgent(), room=ctx.room)

    **Modes**

    - ``mode="local"`` (default): the avatar renders in the agent's own process. The agent's
      TTS audio goes through a ``QueueAudioOutput`` into an ``AvatarRunner`` whose video
      generator is the avatar engine, and the agent participant publishes the avatar's
      audio and camera tracks itself. Turn-taking comes straight from the session's events.
    - ``mode="remote"``: the avatar renders in a separate ``avatar-agent worker`` process
      (see :mod:`livekit.plugins.avatar_agent.worker`), found through LiveKit's agent
      dispatch by ``agent_name``. Audio goes over a byte stream (``DataStreamAudioOutput``);
      the worker joins as an agent-kind participant with ``lk.publish_on_behalf`` set to this
      agent, so frontends show its video as this agent's avatar.

    **Options** (keyword-only; an argument wins over its environment variable)

    - ``avatar``: ``.avatar`` bundle, portrait image or loaded bundle; else
      ``AVATAR_AGENT_AVATAR``; else the embedded default. Local mode only (the worker has
      its own).
    - ``motion_model``: learned motion model (ONNX); else ``AVATAR_AGENT_MOTION_MODEL``;
      else the engine's default.
    - ``agent_name``: remote mode's worker name; else ``AVATAR_AGENT_WORKER_NAME``; else
      ``avatar-agent``.
    - ``livekit_url``, ``livekit_api_key``, ``livekit_api_secret``: remote mode outside a
      job only; else ``LIVEKIT_URL``, ``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``.

    Args:
        mode: ``local`` (render in this process) or ``remote`` (dispatch a worker).
        avatar: The avatar (local mode).
        motion_model: Learned motion model file (local mode).
        fps: Video frame rate (local mode; 20-60).
        size: Square video side in pixels (local mode).
        driver: Motion driver: ``auto``, ``learned`` or ``baseline`` (local mode).
        seed: Seed of blinks, sway and model noise (local mode).
        audio_sample_rate: Rate of the published audio (local mode).
        engine: A built, not yet started engine to use instead of building one (local mode;
            e.g. one made in ``setup_fnc``). The session starts and closes it.
        expression: Expression to start with (``happy``, ``concerned``, ...).
        expression_tags: Apply expression tags (``[happy]``, ``[concerned:0.6]``): those that
            :meth:`tts_text` strips, when their reply starts playing; without
            :meth:`tts_text`, those left in the agent's messages, when the message is added.
        tag_duration: Seconds an expression from a tag is held (then it eases back).
        agent_name: Agent name of the avatar worker (remote mode).
        avatar_identity: Identity the worker joins with (remote mode; default
            ``"<agent_name>-<agent identity>"``).
        livekit_url: LiveKit URL for the dispatch API (remote mode, outside a job).
        livekit_api_key: LiveKit API key (remote mode, outside a job).
        livekit_api_secret: LiveKit API secret (remote mode, outside a job).
        metrics_interval: Seconds between fps/latency log lines (local mode; 0: never).

    Raises:
        AvatarAgentPluginError: For a wrong option (raised here, not at ``start``).
    """

    def __init__(
        self,
        *,
        mode: Literal["local", "remote"] = "local",
        avatar: AvatarSpec = None,
        motion_model: str | os.PathLike[str] | None = None,
        fps: float = 25.0,
        size: int = 512,
        driver: str = "auto",
        seed: int = 0,
        audio_sample_rate: int = 24000,
        engine: AvatarEngine | None = None,
        expression: str | None = None,
        expression_tags: bool = True,
        tag_duration: float | None = 3.0,
        agent_name: NotGivenOr[str] = NOT_GIVEN,
        avatar_identity: NotGivenOr[str] = NOT_GIVEN,
        livekit_url: NotGivenOr[str] = NOT_GIVEN,
        livekit_api_key: NotGivenOr[str] = NOT_GIVEN,
        livekit_api_secret: NotGivenOr[str] = NOT_GIVEN,
        metrics_interval: float = 30.0,
    ) -> None:
        super().__init__()
        if mode not in ("local", "remote"):
            raise AvatarAgentPluginError(f"mode must be 'local' or 'remote', got {mode!r}")
        self._mode = mode
        self._avatar = avatar
        self._settings = EngineSettings(
            fps=fps,
            size=size,
            driver=driver,
            seed=seed,
            audio_sample_rate=audio_sample_rate,
            motion_model=resolve_motion_model(motion_model) if mode == "local" else None,
        )
        if mode == "local" and engine is None:
            self._settings.config()  # validate now, raise AvatarAgentPluginError early
        self._engine = engine
        self._expression = expression
        self._expression_tags = expression_tags
        self._tag_duration = tag_duration
        self._tags_streamed = False  # tts_text() in use: tags are applied from there
        self._pending_cues: list[ExpressionCue] = []
        self._playing = False
        self._agent_name = (
            agent_name
            if utils.is_given(agent_name)
            else os.environ.get(AGENT_NAME_ENV) or DEFAULT_AGENT_NAME
        )
        self._avatar_identity_opt = avatar_identity if utils.is_given(avatar_identity) else None
        self._lk_url = livekit_url if utils.is_given(livekit_url) else None
        self._lk_key = livekit_api_key if utils.is_given(livekit_api_key) else None
        self._lk_secret = livekit_api_secret if utils.is_given(livekit_api_secret) else None
        self._metrics_interval = metrics_interval

        self._identity: str | None = None
        self._session: AgentSession | None = None
        self._runner: AvatarRunner | None = None
        self._generator: EngineVideoGenerator | None = None
        self._audio_output: QueueAudioOutput | DataStreamAudioOutput | None = None
        self._signals: TurnSignals | None = None
        self._dispatch_id: str | None = None
        self._dispatch_room: str | None = None
        self._rpc_tasks: set[asyncio.Task[Any]] = set()
        self._pending_expression: ExpressionCue | None = None
        self._started = False
        self._closed = False

    # ------------------------------------------------------------------ properties
    @property
    def mode(self) -> Literal["local", "remote"]:
        """``local`` or ``remote``."""
        return self._mode

    @property
    def avatar_identity(self) -> str:
        """Identity of the participant that publishes the avatar's video.

        The agent itself in local mode, the worker in remote mode.
        """
        if self._identity is None:
            raise RuntimeError("AvatarSession.avatar_identity is known once start() ran")
        return self._identity

    @property
    def provider(self) -> str:
        """Provider name in ``AvatarMetrics``."""
        return PROVIDER

    @property
    def engine(self) -> AvatarEngine | None:
        """The engine (local mode, after ``start``)."""
        return self._engine if self._mode == "local" else None

    @property
    def audio_output(self) -> QueueAudioOutput | DataStreamAudioOutput | None:
        """The audio sink installed at the tail of the session's audio output."""
        return self._audio_output

    @property
    def runner(self) -> AvatarRunner | None:
        """LiveKit's ``AvatarRunner`` (local mode, after ``start``)."""
        return self._runner

    def metrics(self) -> dict[str, Any]:
        """Adapter and engine numbers (local mode): fps, first-frame latency, queues."""
        out: dict[str, Any] = {}
        if self._generator is not None:
            out["adapter"] = self._generator.stats.as_dict()
        if self._mode == "local" and self._engine is not None:
            try:
                out["engine"] = self._engine.metrics().as_dict()
            except Exception:
                logger.debug("engine metrics unavailable", exc_info=True)
        if self._runner is not None:
            out["published_fps"] = round(self._runner.av_sync.actual_fps, 2)
        return out

    # ------------------------------------------------------------------ lifecycle
    async def start(
        self,
        agent_session: AgentSession,
        room: rtc.Room,
        *,
        livekit_url: NotGivenOr[str] = NOT_GIVEN,
        livekit_api_key: NotGivenOr[str] = NOT_GIVEN,
        livekit_api_secret: NotGivenOr[str] = NOT_GIVEN,
    ) -> None:
        """Attach the avatar to ``agent_session``; call it before ``agent_session.start``.

        Args:
            agent_session: The agent's session; its audio output's tail becomes the avatar.
            room: The job's room (``ctx.room``).
            livekit_url: Overrides the constructor's (remote mode).
            livekit_api_key: Overrides the constructor's (remote mode).
            livekit_api_secret: Overrides the constructor's (remote mode).

        Raises:
            AvatarAgentPluginError: Started twice, or a missing requirement.
        """
        if self._started:
            raise AvatarAgentPluginError("AvatarSession.start() was already called")
        self._started = True
        if utils.is_given(livekit_url):
            self._lk_url = livekit_url
        if utils.is_given(livekit_api_key):
            self._lk_key = livekit_api_key
        if utils.is_given(livekit_api_secret):
            self._lk_secret = livekit_api_secret
        self._session = agent_session
        if self._mode == "local":
            await self._start_local(agent_session, room)
        else:
            await self._start_remote(agent_session, room)
        if self._expression_tags:
            agent_session.on("conversation_item_added", self._on_item_for_tags)
        if self._audio_output is not None:
            self._audio_output.on("playback_started", self._on_playback_started)
            self._audio_output.on("playback_finished", self._on_playback_finished)

    async def _start_local(self, agent_session: AgentSession, room: rtc.Room) -> None:
        self._identity = _local_identity(room)
        if self._engine is None:
            self._engine = await asyncio.get_running_loop().run_in_executor(
                None, make_engine, self._avatar, self._settings
            )
        engine = self._engine
        await super().start(agent_session, room)
        gen = EngineVideoGenerator(engine, metrics_interval=self._metrics_interval)
        await gen.start()
        self._signals = TurnSignals(engine)
        if self._expression:
            self._signals.apply_expression(ExpressionCue(self._expression))

        width, height = gen.video_size
        options = AvatarOptions(
            video_width=width,
            video_height=height,
            video_fps=gen.fps,
            audio_sample_rate=gen.audio_sample_rate,
            audio_channels=1,
        )
        # no sample_rate: the session passes TTS audio as it is; the engine resamples
        audio_out = QueueAudioOutput(wait_playback_start=True)
        runner = AvatarRunner(room, audio_recv=audio_out, video_gen=gen, options=options)
        await runner.start()
        gen.attach(runner.av_sync)
        self._generator, self._audio_output, self._runner = gen, audio_out, runner

        agent_session.on("user_state_changed", self._on_user_state)
        agent_session.on("agent_state_changed", self._on_agent_state)
        agent_session.on("speech_created", self._on_speech_created)
        agent_session.output.replace_audio_tail(audio_out)
        logger.info(
            "avatar started in-process",
            extra={"size": width, "fps": gen.fps, "identity": self._identity},
        )

    async def _start_remote(self, agent_session: AgentSession, room: rtc.Room) -> None:
        agent_identity = _local_identity(room)
        self._identity = self._avatar_identity_opt or f"{self._agent_name}-{agent_identity}"
        await super().start(agent_session, room)
        info = DispatchInfo(
            agent_identity=agent_identity,
            avatar_identity=self._identity,
            expression=self._expression,
        )
        await self._dispatch(room, info)
        audio_out = DataStreamAudioOutput(
            room,
            destination_identity=self._identity,
            wait_remote_track=rtc.TrackKind.KIND_VIDEO,
            wait_playback_start=True,
        )
        self._audio_output = audio_out
        agent_session.output.replace_audio_tail(audio_out)
        logger.info(
            "avatar worker dispatched",
            extra={"agent_name": self._agent_name, "identity": self._identity, "room": room.name},
        )

    async def _dispatch(self, room: rtc.Room, info: DispatchInfo) -> None:
        room_name = room.name
        job_ctx = get_job_context(required=False)
        if not room_name and job_ctx is not None:
            room_name = job_ctx.job.room.name  # not connected yet
        request = api.CreateAgentDispatchRequest(
            agent_name=self._agent_name, room=room_name, metadata=info.to_json()
        )
        dispatch = await self._create_dispatch(request)
        self._dispatch_id = getattr(dispatch, "id", None) or None
        self._dispatch_room = room_name

    def _api_client(self) -> tuple[api.LiveKitAPI, bool]:
        """The LiveKit API client and whether this session owns (must close) it."""
        explicit = self._lk_url or self._lk_key or self._lk_secret
        job_ctx = get_job_context(required=False)
        if job_ctx is not None and not explicit:
            return job_ctx.api, False
        url, key, secret = resolve_livekit_credentials(self._lk_url, self._lk_key, self._lk_secret)
        return api.LiveKitAPI(url, key, secret), True

    async def _create_dispatch(self, request: api.CreateAgentDispatchRequest) -> Any:
        client, owned = self._api_client()
        try:
            return await client.agent_dispatch.create_dispatch(request)
        finally:
            if owned:
                await client.aclose()

    async def _delete_dispatch(self, dispatch_id: str, room_name: str) -> None:
        client, owned = self._api_client()
        try:
            await client.agent_dispatch.delete_dispatch(dispatch_id, room_name)
        finally:
            if owned:
                await client.aclose()

    async def aclose(self) -> None:
        """Stop the avatar: close the runner and engine, or dismiss the worker."""
        if self._closed:
            return
        self._closed = True
        session = self._session
        if session is not None:
            for event, handler in (
                ("user_state_changed", self._on_user_state),
                ("agent_state_changed", self._on_agent_state),
                ("speech_created", self._on_speech_created),
                ("conversation_item_added", self._on_item_for_tags),
            ):
                try:
                    session.off(event, handler)
                except Exception:  # not registered in this mode
                    pass
        if self._audio_output is not None:
            self._audio_output.off("playback_started", self._on_playback_started)
            self._audio_output.off("playback_finished", self._on_playback_finished)
        if self._mode == "local" and self._room is not None:
            # The avatar is the agent participant: the base class must not remove it.
            self._room.off("connection_state_changed", self._on_connection_state_changed)
            self._room = None
        await super().aclose()
        if self._rpc_tasks:
            await utils.aio.cancel_and_wait(*self._rpc_tasks)
        if self._runner is not None:
            await self._runner.aclose()
            self._runner = None
        if self._mode == "local" and self._engine is not None:
            await self._engine.aclose()
            if self._generator is not None:
                logger.info("avatar closed", extra={"metrics": self.metrics()})
        if self._mode == "remote" and self._dispatch_id and self._dispatch_room:
            try:
                await self._delete_dispatch(self._dispatch_id, self._dispatch_room)
            except Exception:
                logger.debug("could not delete the avatar dispatch", exc_info=True)

    # ------------------------------------------------------------------ expressions
    def set_expression(
        self, name: str, *, intensity: float = 1.0, duration: float | None = None
    ) -> None:
        """Show an expression (``happy``, ``concerned``, ``surprised``, ``neutral``, ...).

        In remote mode it is sent to the worker by RPC (after it joined).

        Args:
            name: Expression name.
            intensity: 0..1.
            duration: Seconds to hold it; None until the next one.
        """
        cue = ExpressionCue(name, float(intensity), duration)
        if self._mode == "local":
            if self._signals is None:
                self._expression = name
                return
            self._signals.apply_expression(cue)
            return
        if self._room is None or self._identity is None:
            self._expression = name
            return
        self._pending_expression = cue
        task = asyncio.create_task(self._send_expression())
        self._rpc_tasks.add(task)
        task.add_done_callback(self._rpc_tasks.discard)

    async def _send_expression(self) -> None:
        join = self._wait_avatar_join_task
        if join is not None:
            try:
                await asyncio.shield(join)
            except Exception:
                return
        cue, self._pending_expression = self._pending_expression, None
        if cue is None or self._room is None or self._identity is None:
            return
        payload = json.dumps(
            {"name": cue.name, "intensity": cue.intensity, "duration": cue.duration}
        )
        try:
            await self._room.local_participant.perform_rpc(
                destination_identity=self._identity, method=RPC_SET_EXPRESSION, payload=payload
            )
        except Exception as e:
            logger.warning("set_expression RPC failed: %s", e)

    # ------------------------------------------------------------------ session events
    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if self._signals is not None:
            self._signals.on_user_state(ev.new_state)

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        if self._signals is not None:
            self._signals.on_agent_state(ev.new_state)

    def _on_speech_created(self, ev: SpeechCreatedEvent) -> None:
        if self._signals is not None:
            self._signals.on_speech_created()

    def _on_item_for_tags(self, ev: ConversationItemAddedEvent) -> None:
        if self._tags_streamed:
            return  # tts_text() already applied this reply's tags
        item = ev.item
        if getattr(item, "type", None) != "message" or getattr(item, "role", None) != "assistant":
            return
        text = getattr(item, "text_content", None) or ""
        for cue in expression_cues(text):
            self.set_expression(cue.name, intensity=cue.intensity, duration=self._tag_duration)

    def _on_playback_started(self, ev: Any) -> None:
        self._playing = True
        cues, self._pending_cues = self._pending_cues, []
        for cue in cues:
            self.set_expression(cue.name, intensity=cue.intensity, duration=cue.duration)

    def _on_playback_finished(self, ev: Any) -> None:
        self._playing = False

    # ------------------------------------------------------------------ tags in text
    async def tts_text(self, text: AsyncIterable[str]) -> AsyncIterator[str]:
        """Strip expression tags from the text going to TTS and show them on the avatar.

        Use it in the agent's ``tts_node`` (and :meth:`transcript_text` in its
        ``transcription_node``) so tags are never spoken or shown::

            class Assistant(Agent):
                async def tts_node(self, text, model_settings):
                    return Agent.default.tts_node(self, avatar.tts_text(text), model_settings)

        A tag takes effect when its reply starts playing (at once if it is already playing).

        Args:
            text: The LLM's text stream.

        Yields:
            The text without tags, chunk by chunk (a tag split across chunks is held back).
        """
        self._tags_streamed = True
        self._pending_cues = []
        stripper = TagStripper()
        async for chunk in text:
            clean, cues = stripper.feed(chunk)
            self._queue_cues(cues)
            if clean:
                yield clean
        clean, cues = stripper.flush()
        self._queue_cues(cues)
        if clean:
            yield clean

    async def transcript_text(self, text: AsyncIterable[Any]) -> AsyncIterator[Any]:
        """Strip expression tags from the transcript (``transcription_node``); shows nothing.

        Args:
            text: The transcript stream (``str`` or LiveKit's ``TimedString`` chunks).

        Yields:
            The chunks without tags.
        """
        stripper = TagStripper()
        async for chunk in text:
            if type(chunk) is not str:  # timed chunks: keep their timing, drop whole tags
                clean = strip_tags(str(chunk)).text
                if clean == str(chunk):
                    yield chunk
                elif clean:
                    yield clean
                continue
            clean, _ = stripper.feed(chunk)
            if clean:
                yield clean
        clean, _ = stripper.flush()
        if clean:
            yield clean

    def _queue_cues(self, cues: Sequence[Any]) -> None:
        if not self._expression_tags:
            return
        for c in cues:
            cue = ExpressionCue(c.expression, c.intensity, self._tag_duration)
            if self._playing:
                self.set_expression(cue.name, intensity=cue.intensity, duration=cue.duration)
            else:
                self._pending_cues.append(cue)


def _local_identity(room: rtc.Room) -> str:
    """The agent's identity, also before the room is connected (from the job's token)."""
    try:
        return room.local_participant.identity
    except Exception:
        job_ctx = get_job_context(required=False)
        if job_ctx is not None:
            return job_ctx.local_participant_identity
        raise AvatarAgentPluginError(
            "connect the room before avatar.start() (await ctx.connect()), or start it in a job"
        ) from None
