"""The dispatched avatar worker: an ``AgentServer`` that renders avatars for other agents.

An agent that uses ``AvatarSession(mode="remote", agent_name=...)`` asks LiveKit's agent
dispatch for a job of that name in its room. This worker takes the job, joins as an
agent-kind participant named by the dispatch with ``lk.publish_on_behalf`` set to the agent,
receives the agent's TTS audio as a byte stream (``DataStreamAudioReceiver``), follows the
agent's and user's turn-taking on the session event stream (``lk.agent.session``, read with
``RemoteSession``), takes expression changes by RPC, and publishes the avatar's audio and
video tracks.

The avatar is loaded once per process (``setup_fnc``), not per job. Jobs run as threads of
one process by default so all streams share it; the worker reports its load from the
measured cost per stream and refuses jobs beyond its capacity.

Run it with ``avatar-agent worker`` (see ``avatar-agent worker --help``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc
from livekit.agents import (
    AgentServer,
    AutoSubscribe,
    JobContext,
    JobExecutorType,
    JobProcess,
    JobRequest,
)
from livekit.agents.types import (
    ATTRIBUTE_AGENT_STATE,
    ATTRIBUTE_PUBLISH_ON_BEHALF,
    ATTRIBUTE_TRANSCRIPTION_EXPRESSION,
    TOPIC_TRANSCRIPTION,
)
from livekit.agents.voice import RemoteSession
from livekit.agents.voice.avatar import AvatarOptions, AvatarRunner, DataStreamAudioReceiver
from livekit.agents.voice.avatar._datastream_io import AUDIO_STREAM_TOPIC

from avatar_agent.engine import AvatarEngine

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
from .runtime import AvatarSpec, EngineSettings, load_shared_avatar, make_engine
from .signals import ExpressionCue, TurnSignals, mood_cue, pb_agent_state, pb_user_state

__all__ = [
    "AvatarWorkerJob",
    "AvatarWorkerService",
    "Capacity",
    "WorkerSettings",
    "build_server",
    "run_worker",
]


# ---------------------------------------------------------------------------- one stream
class AvatarWorkerJob:
    """One avatar stream in a room, publishing on behalf of one agent.

    Independent of the job machinery so it can run against any room object.

    Args:
        room: A connected room.
        agent_identity: The agent whose audio and turn-taking drive the avatar.
        engine: A built, not yet started engine (closed by :meth:`aclose`).
        expression: Expression to start with.
        metrics_interval: Seconds between fps/latency log lines (0: never).
    """

    def __init__(
        self,
        room: rtc.Room,
        *,
        agent_identity: str,
        engine: AvatarEngine,
        expression: str | None = None,
        metrics_interval: float = 30.0,
    ) -> None:
        self._room = room
        self._agent_identity = agent_identity
        self._engine = engine
        self._expression = expression
        self._metrics_interval = metrics_interval
        self._signals = TurnSignals(engine)
        self._generator: EngineVideoGenerator | None = None
        self._receiver: DataStreamAudioReceiver | None = None
        self._runner: AvatarRunner | None = None
        self._remote: RemoteSession | None = None
        self._text_handler = False
        self._rpc_registered = False
        self._closed = False
        self.started_at: float | None = None

    @property
    def engine(self) -> AvatarEngine:
        """The stream's engine."""
        return self._engine

    @property
    def generator(self) -> EngineVideoGenerator | None:
        """The engine adapter (after :meth:`start`)."""
        return self._generator

    @property
    def runner(self) -> AvatarRunner | None:
        """LiveKit's runner (after :meth:`start`)."""
        return self._runner

    @property
    def signals(self) -> TurnSignals:
        """The turn-taking state the avatar follows."""
        return self._signals

    async def start(self) -> None:
        """Start the engine, the runner and the listeners; returns once the agent is found."""
        room = self._room
        gen = EngineVideoGenerator(self._engine, metrics_interval=self._metrics_interval)
        await gen.start()
        self.started_at = time.monotonic()
        if self._expression:
            self._signals.apply_expression(ExpressionCue(self._expression))

        # handlers first: the agent may speak as soon as it sees our video track
        room.local_participant.register_rpc_method(RPC_SET_EXPRESSION, self._on_set_expression)
        self._rpc_registered = True
        with contextlib.suppress(ValueError, AttributeError):  # the agent's transcripts
            room.register_text_stream_handler(TOPIC_TRANSCRIPTION, self._on_transcription)
            self._text_handler = True
        room.on("participant_attributes_changed", self._on_attributes_changed)
        self._remote = RemoteSession.from_room(room, self._agent_identity)
        self._remote.on("agent_state_changed", self._on_remote_agent_state)
        self._remote.on("user_state_changed", self._on_remote_user_state)
        await self._remote.start()

        width, height = gen.video_size
        options = AvatarOptions(
            video_width=width,
            video_height=height,
            video_fps=gen.fps,
            audio_sample_rate=gen.audio_sample_rate,
            audio_channels=1,
        )
        self._receiver = DataStreamAudioReceiver(room, sender_identity=self._agent_identity)
        self._runner = AvatarRunner(room, audio_recv=self._receiver, video_gen=gen, options=options)
        self._generator = gen
        await self._runner.start()
        gen.attach(self._runner.av_sync)
        logger.info(
            "avatar job started",
            extra={"agent_identity": self._agent_identity, "size": width, "fps": gen.fps},
        )

    async def wait_for_complete(self) -> None:
        """Return when the runner stops (the audio stream ended or the job closed)."""
        if self._runner is not None:
            await self._runner.wait_for_complete()

    def cost(self) -> float | None:
        """Measured CPU cost of this stream in cores (compute time per second of video).

        Returns:
            The engine's real-time factor if it reports one, else None.
        """
        try:
            m = self._engine.metrics().as_dict()
        except Exception:
            return None
        for key in ("realtime_factor",):
            value = m.get(key)
            if isinstance(value, int | float) and math.isfinite(value) and value > 0:
                return float(value)
        return None

    async def aclose(self) -> None:
        """Stop the stream and release the room's handlers (so the next job works)."""
        if self._closed:
            return
        self._closed = True
        room = self._room
        room.off("participant_attributes_changed", self._on_attributes_changed)
        if self._rpc_registered:
            with contextlib.suppress(Exception):
                room.local_participant.unregister_rpc_method(RPC_SET_EXPRESSION)
        if self._text_handler:
            with contextlib.suppress(Exception):
                room.unregister_text_stream_handler(TOPIC_TRANSCRIPTION)
        if self._remote is not None:
            await self._remote.aclose()
        if self._runner is not None:
            await self._runner.aclose()
        with contextlib.suppress(Exception):
            room.unregister_byte_stream_handler(AUDIO_STREAM_TOPIC)
        await self._engine.aclose()
        if self._generator is not None:
            logger.info("avatar job closed", extra={"stats": self._generator.stats.as_dict()})

    # ------------------------------------------------------------------ events
    def _on_remote_agent_state(self, ev: Any) -> None:
        self._signals.on_agent_state(pb_agent_state(ev.agent_state_changed.new_state))

    def _on_remote_user_state(self, ev: Any) -> None:
        self._signals.on_user_state(pb_user_state(ev.user_state_changed.new_state))

    def _on_attributes_changed(self, changed: dict[str, str], participant: rtc.Participant) -> None:
        # fallback when the agent's session does not broadcast its events
        if participant.identity == self._agent_identity and ATTRIBUTE_AGENT_STATE in changed:
            self._signals.on_agent_state(changed[ATTRIBUTE_AGENT_STATE])

    def _on_set_expression(self, data: rtc.RpcInvocationData) -> str:
        if data.caller_identity != self._agent_identity:
            raise rtc.RpcError(rtc.RpcError.ErrorCode.APPLICATION_ERROR, "unexpected caller")
        try:
            body = json.loads(data.payload or "{}")
            name = str(body["name"])
            intensity = float(body.get("intensity", 1.0))
            duration = body.get("duration")
            duration = None if duration is None else float(duration)
        except (ValueError, KeyError, TypeError) as e:
            raise rtc.RpcError(
                rtc.RpcError.ErrorCode.APPLICATION_ERROR, f"bad expression payload: {e}"
            ) from e
        self._signals.apply_expression(ExpressionCue(name, intensity, duration))
        return "ok"

    def _on_transcription(self, reader: Any, participant_identity: str) -> None:
        # the text itself is of no use here; a TTS-reported mood (lk.expression) is
        try:
            if participant_identity == self._agent_identity:
                attributes = reader.info.attributes or {}
                cue = mood_cue(attributes.get(ATTRIBUTE_TRANSCRIPTION_EXPRESSION))
                if cue is not None:
                    self._signals.apply_expression(cue)
        finally:
            with contextlib.suppress(Exception):
                reader.close()  # an unread reader keeps its FFI subscription otherwise


# ---------------------------------------------------------------------------- capacity
@dataclass
class Capacity:
    """Admission and load of one worker process from the measured cost per stream.

    The cost of a stream (CPU cores it uses) is the engine's real-time factor when it reports
    one, else the process's CPU time per wall second divided by the streams it serves, else
    the calibration estimate. The load reported to LiveKit is ``streams × cost / cores`` (and
    at least ``streams / max_streams``); a job is refused when one more stream would pass
    ``threshold``.

    Attributes:
        cores: CPU cores this worker may use.
        threshold: Load above which no job is accepted (also the server's load threshold).
        max_streams: Hard cap on streams (0: no cap).
        estimate: Cost per stream in cores before any was measured.
    """

    cores: float = field(default_factory=lambda: float(len(os.sched_getaffinity(0))))
    threshold: float = 0.8
    max_streams: int = 0
    estimate: float = 0.25
    reservation_timeout: float = 30.0
    _jobs: set[AvatarWorkerJob] = field(default_factory=set, repr=False)
    _reservations: list[float] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cpu_mark: tuple[float, float] | None = field(default=None, repr=False)
    _cpu_cores: float | None = field(default=None, repr=False)

    @property
    def streams(self) -> int:
        """Streams running or admitted."""
        with self._lock:
            self._expire()
            return len(self._jobs) + len(self._reservations)

    def _expire(self) -> None:
        # an accepted job the server never assigned must not hold its slot forever
        limit = time.monotonic() - self.reservation_timeout
        self._reservations = [t for t in self._reservations if t >= limit]

    def cost_per_stream(self) -> float:
        """Measured (or estimated) cores one stream uses."""
        with self._lock:
            jobs = list(self._jobs)
        costs = [c for c in (j.cost() for j in jobs) if c is not None]
        if costs:
            return max(sum(costs) / len(costs), 1e-3)
        if jobs and self._cpu_cores is not None:
            return max(self._cpu_cores / len(jobs), 1e-3)
        return self.estimate

    def sample_cpu(self) -> None:
        """Update the process CPU measurement (called with every load query)."""
        now = (time.monotonic(), time.process_time())
        if self._cpu_mark is not None:
            wall = now[0] - self._cpu_mark[0]
            if wall >= 0.5:
                self._cpu_cores = (now[1] - self._cpu_mark[1]) / wall
                self._cpu_mark = now
        else:
            self._cpu_mark = now

    def load(self, extra_streams: int = 0) -> float:
        """Load 0..1 with ``extra_streams`` more streams."""
        self.sample_cpu()
        n = self.streams + extra_streams
        load = n * self.cost_per_stream() / max(self.cores, 1e-3)
        if self.max_streams > 0:
            load = max(load, n / self.max_streams)
        return min(load, 1.0)

    def try_admit(self) -> bool:
        """Reserve a slot for one more stream if it fits (release with :meth:`release`)."""
        if self.max_streams > 0 and self.streams + 1 > self.max_streams:
            return False
        if self.streams > 0 and self.load(extra_streams=1) > self.threshold:
            return False
        with self._lock:
            self._reservations.append(time.monotonic())
        return True

    def release(self) -> None:
        """Give back a reservation that did not become a job."""
        with self._lock:
            if self._reservations:
                self._reservations.pop(0)

    def add(self, job: AvatarWorkerJob, *, reserved: bool = True) -> None:
        """A reserved slot became a running job."""
        with self._lock:
            if reserved and self._reservations:
                self._reservations.pop(0)
            self._jobs.add(job)

    def remove(self, job: AvatarWorkerJob) -> None:
        """A job ended."""
        with self._lock:
            self._jobs.discard(job)


# ---------------------------------------------------------------------------- the server
@dataclass
class WorkerSettings:
    """What the worker renders and how many streams it takes.

    Attributes:
        agent_name: Name agents dispatch (``AVATAR_AGENT_WORKER_NAME``, default
            ``avatar-agent``).
        avatar: Avatar of every stream (``AVATAR_AGENT_AVATAR`` or the embedded default).
        engine: Engine settings of every stream.
        capacity: Admission and load.
        metrics_interval: Seconds between fps/latency log lines per stream.
        calibrate: Measure one stream's cost when the process starts (a few frames).
    """

    agent_name: str = ""
    avatar: AvatarSpec = None
    engine: EngineSettings = field(default_factory=EngineSettings)
    capacity: Capacity = field(default_factory=Capacity)
    metrics_interval: float = 30.0
    calibrate: bool = True

    def __post_init__(self) -> None:
        if not self.agent_name:
            self.agent_name = os.environ.get(AGENT_NAME_ENV) or DEFAULT_AGENT_NAME


def _calibrate(settings: WorkerSettings) -> float | None:
    """Cores one real-time stream needs: render about a second of speech unpaced."""
    from dataclasses import replace

    import numpy as np

    engine_settings = replace(settings.engine, extra={**settings.engine.extra, "realtime": False})

    async def _run() -> float:
        engine = make_engine(settings.avatar, engine_settings)
        await engine.start()
        try:
            rate, seconds = 16000, 1.6
            t = np.arange(int(rate * seconds)) / rate
            speech = np.sin(2 * np.pi * 180 * t) * np.sin(2 * np.pi * 3 * t) ** 2 * 0.5
            engine.push_audio(speech.astype(np.float32), sample_rate=rate)
            engine.end_segment()
            n = max(int(engine_settings.fps), 10)
            count, t0 = 0, 0.0
            async for _ in engine.frames():
                count += 1
                if count == 3:  # skip start-up
                    t0 = time.process_time()
                if count >= n + 3:
                    break
            measured = (time.process_time() - t0) / n * engine_settings.fps
            rtf = engine.metrics().realtime_factor or 0.0
            return max(measured, rtf)
        finally:
            await engine.aclose()

    try:
        return asyncio.run(_run())
    except Exception:
        logger.warning("avatar cost calibration failed", exc_info=True)
        return None


class AvatarWorkerService:
    """The worker's callbacks: process setup, load, job requests and the job entrypoint.

    :func:`build_server` registers them on an ``AgentServer``; tests call them directly.

    Args:
        settings: What to render and how many streams to take.
    """

    def __init__(self, settings: WorkerSettings | None = None) -> None:
        self.settings = settings or WorkerSettings()
        self.capacity = self.settings.capacity
        # fail early, in the parent, on a wrong model path or engine option
        resolve_motion_model(self.settings.engine.motion_model)
        self.settings.engine.config()

    def setup(self, proc: JobProcess) -> None:
        """``setup_fnc``: load the avatar once per process (shared by every stream)."""
        proc.userdata["avatar_agent.avatar"] = load_shared_avatar(
            self.settings.avatar, size=self.settings.engine.size
        )

    def load(self, _server: AgentServer | None = None) -> float:
        """``load_fnc``: streams × measured cost per stream / cores (0..1)."""
        return self.capacity.load()

    async def on_request(self, req: JobRequest) -> None:
        """Accept a dispatch with its identity and ``lk.publish_on_behalf``, or refuse it."""
        capacity = self.capacity
        try:
            info = DispatchInfo.from_json(req.job.metadata)
        except AvatarAgentPluginError as e:
            logger.error("rejecting avatar job %s: %s", req.id, e)
            await req.reject(terminate=True)
            return
        if not capacity.try_admit():
            logger.warning(
                "avatar worker at capacity, refusing job",
                extra={"streams": capacity.streams, "load": round(capacity.load(), 3)},
            )
            await req.reject(terminate=False)  # another worker may take it
            return
        try:
            await req.accept(
                name="avatar",
                identity=info.avatar_identity,
                attributes={ATTRIBUTE_PUBLISH_ON_BEHALF: info.agent_identity},
            )
        except BaseException:
            capacity.release()
            raise

    async def entrypoint(self, ctx: JobContext) -> None:
        """Run one avatar stream until the agent leaves or the job shuts down."""
        settings, capacity = self.settings, self.capacity
        info = DispatchInfo.from_json(ctx.job.metadata)
        try:
            avatar = ctx.proc.userdata.get("avatar_agent.avatar", settings.avatar)
            engine = await asyncio.get_running_loop().run_in_executor(
                None, make_engine, avatar, settings.engine
            )
        except BaseException:
            capacity.release()
            raise
        job = AvatarWorkerJob(
            ctx.room,
            agent_identity=info.agent_identity,
            engine=engine,
            expression=info.expression,
            metrics_interval=settings.metrics_interval,
        )
        capacity.add(job)

        async def _close(*_: Any) -> None:
            capacity.remove(job)
            await job.aclose()

        ctx.add_shutdown_callback(_close)

        def _on_disconnected(p: rtc.RemoteParticipant) -> None:
            if p.identity == info.agent_identity:
                ctx.shutdown("the agent left")

        ctx.room.on("participant_disconnected", _on_disconnected)
        await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
        await job.start()


def build_server(settings: WorkerSettings | None = None, **server_kwargs: Any) -> AgentServer:
    """An ``AgentServer`` that serves avatar jobs for ``settings.agent_name``.

    Jobs run as threads of one process (``JobExecutorType.THREAD``) so that every stream
    shares the loaded avatar and the capacity accounting.

    Args:
        settings: What to render and how many streams to take.
        **server_kwargs: Further ``AgentServer`` arguments (``ws_url``, ``api_key``, ...).

    Returns:
        The server; run it with ``await server.run()`` or :func:`run_worker`.

    Raises:
        AvatarAgentPluginError: For a process job executor or a wrong option.
    """
    service = AvatarWorkerService(settings)
    if server_kwargs.pop("job_executor_type", JobExecutorType.THREAD) != JobExecutorType.THREAD:
        raise AvatarAgentPluginError("the avatar worker runs its jobs as threads of one process")
    server_kwargs.setdefault("num_idle_processes", 1)
    server_kwargs.setdefault("initialize_process_timeout", 60.0)
    server_kwargs.setdefault("load_threshold", service.capacity.threshold)
    server_kwargs.setdefault("job_memory_warn_mb", 1500)
    server = AgentServer(
        job_executor_type=JobExecutorType.THREAD,
        setup_fnc=service.setup,
        load_fnc=service.load,
        **server_kwargs,
    )
    server.rtc_session(
        service.entrypoint, agent_name=service.settings.agent_name, on_request=service.on_request
    )
    return server


def run_worker(
    settings: WorkerSettings | None = None,
    *,
    devmode: bool = False,
    log_level: str = "INFO",
    **server_kwargs: Any,
) -> int:
    """Run the avatar worker until SIGINT/SIGTERM; for ``avatar-agent worker``.

    Args:
        settings: What to render and how many streams to take.
        devmode: LiveKit's development mode (fewer idle processes, no load limit).
        log_level: Logging level of the worker's console output.
        **server_kwargs: Further ``AgentServer`` arguments (``ws_url``, ``api_key``, ...).

    Returns:
        Exit status.
    """
    level = getattr(logging, log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    settings = settings or WorkerSettings()
    url, key, secret = resolve_livekit_credentials(
        server_kwargs.pop("ws_url", None),
        server_kwargs.pop("api_key", None),
        server_kwargs.pop("api_secret", None),
        what="the avatar worker needs LiveKit credentials",
        names=("--url", "--api-key", "--api-secret"),
    )
    server = build_server(settings, ws_url=url, api_key=key, api_secret=secret, **server_kwargs)
    if settings.calibrate:
        cost = _calibrate(settings)
        if cost is not None:
            settings.capacity.estimate = cost
            logger.info(
                "avatar stream cost %.3f cores; capacity about %d streams on %.0f cores",
                cost,
                int(settings.capacity.threshold * settings.capacity.cores / max(cost, 1e-3)),
                settings.capacity.cores,
            )

    async def _main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        run = asyncio.create_task(server.run(devmode=devmode))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not run.done():
            logger.info("stopping the avatar worker")
            await server.aclose()
        with contextlib.suppress(asyncio.CancelledError):
            await run

    asyncio.run(_main())
    return 0


def parse_settings(argv: Sequence[str] | None = None) -> tuple[WorkerSettings, dict[str, Any]]:
    """Settings and run options from ``avatar-agent worker`` arguments (see :func:`main`)."""
    import argparse

    p = argparse.ArgumentParser(prog="avatar-agent worker")
    add_worker_arguments(p)
    args = p.parse_args(argv)
    return settings_from_args(args)


def add_worker_arguments(p: Any) -> None:
    """Add the worker's options to an ``argparse`` parser."""
    p.add_argument("--agent-name", default=None, help=f"dispatch name (${AGENT_NAME_ENV})")
    p.add_argument("--avatar", default=None, help="bundle or portrait ($AVATAR_AGENT_AVATAR)")
    p.add_argument("--motion-model", default=None, help="ONNX ($AVATAR_AGENT_MOTION_MODEL)")
    p.add_argument("--fps", type=float, default=25.0, help="frames per second (default 25)")
    p.add_argument("--size", type=int, default=512, help="frame side in pixels (default 512)")
    p.add_argument("--driver", default="auto", choices=("auto", "learned", "baseline"))
    p.add_argument("--max-streams", type=int, default=0, help="hard cap (default: by load)")
    p.add_argument("--cores", type=float, default=None, help="CPU cores to plan with")
    p.add_argument("--load-threshold", type=float, default=0.8, help="refuse above (0..1)")
    p.add_argument("--no-calibrate", action="store_true", help="skip the start-up cost run")
    p.add_argument("--url", default=None, help="LiveKit URL ($LIVEKIT_URL)")
    p.add_argument("--api-key", default=None, help="$LIVEKIT_API_KEY")
    p.add_argument("--api-secret", default=None, help="$LIVEKIT_API_SECRET")
    p.add_argument("--port", type=int, default=None, help="health-check HTTP port (0: any)")
    p.add_argument("--dev", action="store_true", help="LiveKit development mode")
    p.add_argument("--log-level", default="INFO")


def settings_from_args(args: Any) -> tuple[WorkerSettings, dict[str, Any]]:
    """Turn parsed worker arguments into settings and ``run_worker`` keyword arguments."""
    capacity = Capacity(threshold=args.load_threshold, max_streams=args.max_streams)
    if args.cores:
        capacity.cores = float(args.cores)
    settings = WorkerSettings(
        agent_name=args.agent_name or "",
        avatar=args.avatar,
        engine=EngineSettings(
            fps=args.fps,
            size=args.size,
            driver=args.driver,
            motion_model=resolve_motion_model(args.motion_model),
        ),
        capacity=capacity,
        calibrate=not args.no_calibrate,
    )
    kwargs: dict[str, Any] = {"devmode": args.dev, "log_level": args.log_level}
    if args.port is not None:
        kwargs["port"] = args.port
    for key, attr in (("ws_url", "url"), ("api_key", "api_key"), ("api_secret", "api_secret")):
        if getattr(args, attr):
            kwargs[key] = getattr(args, attr)
    return settings, kwargs


def main(argv: Sequence[str] | None = None) -> int:
    """``avatar-agent worker``: run a dispatched avatar worker.

    Args:
        argv: Arguments after ``worker``.

    Returns:
        Exit status.
    """
    settings, kwargs = parse_settings(argv)
    return run_worker(settings, **kwargs)
