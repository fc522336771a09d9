"""In-memory stand-ins for LiveKit rooms: enough of ``rtc.Room`` for the avatar paths.

A :class:`FakeHub` connects rooms (one per participant) in one event loop: track
publications, participant attributes, byte streams (``stream_bytes``/``send_bytes`` →
``register_byte_stream_handler``) and RPC (``perform_rpc`` → ``register_rpc_method``) are
delivered between them asynchronously, as a server would. Audio and video sources stay real
``rtc`` objects; published tracks are only recorded.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc

_ids = itertools.count()


class FakePublication:
    def __init__(self, name: str, kind: int, source: int, track: Any = None) -> None:
        self.sid = f"TR_{next(_ids)}"
        self.name = name
        self.kind = kind
        self.source = source
        self.track = track
        self.subscribed = True

    async def wait_for_subscription(self) -> None:
        return None


class FakeRemoteParticipant:
    def __init__(self, identity: str, kind: int, attributes: dict[str, str]) -> None:
        self.identity = identity
        self.sid = f"PA_{identity}"
        self.name = identity
        self.kind = kind
        self.attributes = dict(attributes)
        self.state = rtc.ParticipantState.PARTICIPANT_STATE_ACTIVE
        self.track_publications: dict[str, FakePublication] = {}


class _Reader:
    """``rtc.ByteStreamReader`` look-alike fed by a writer."""

    def __init__(self, info: rtc.ByteStreamInfo) -> None:
        self.info = info
        self._q: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = False

    def __aiter__(self) -> _Reader:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._q.get()
        if chunk is None:
            self._q.put_nowait(None)
            raise StopAsyncIteration
        return chunk

    async def read_all(self) -> bytes:
        return b"".join([c async for c in self])

    def close(self) -> None:
        self.closed = True


class _Writer:
    def __init__(self, readers: list[_Reader]) -> None:
        self._readers = readers
        self.closed = False

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise RuntimeError("stream closed")
        for r in self._readers:
            r._q.put_nowait(bytes(data))
        await asyncio.sleep(0)

    async def aclose(self, *, reason: str = "", attributes: Any = None) -> None:
        if not self.closed:
            self.closed = True
            for r in self._readers:
                r._q.put_nowait(None)


class FakeLocalParticipant:
    def __init__(self, room: FakeRoom, identity: str, kind: int, attributes: dict[str, str]):
        self._room = room
        self.identity = identity
        self.sid = f"PA_{identity}"
        self.name = identity
        self.kind = kind
        self.attributes = dict(attributes)
        self.track_publications: dict[str, FakePublication] = {}
        self._rpc_handlers: dict[str, Any] = {}
        self.published: list[tuple[str, int]] = []

    # tracks
    async def publish_track(self, track: Any, options: Any = None) -> FakePublication:
        kind = (
            rtc.TrackKind.KIND_VIDEO
            if isinstance(track, rtc.LocalVideoTrack)
            else rtc.TrackKind.KIND_AUDIO
        )
        source = getattr(options, "source", rtc.TrackSource.SOURCE_UNKNOWN)
        pub = FakePublication(track.name, kind, source, track)
        self.track_publications[pub.sid] = pub
        self.published.append((track.name, kind))
        self._room.emit("local_track_published", pub, track)
        if self._room.hub is not None:
            self._room.hub._track_published(self._room, pub)
        return pub

    async def unpublish_track(self, sid: str) -> None:
        self.track_publications.pop(sid, None)

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        self.attributes.update(attributes)
        if self._room.hub is not None:
            self._room.hub._attributes_changed(self._room, dict(attributes))

    # rpc
    def register_rpc_method(self, method_name: str, handler: Any = None) -> Any:
        if handler is None:

            def deco(f: Any) -> Any:
                self._rpc_handlers[method_name] = f
                return f

            return deco
        self._rpc_handlers[method_name] = handler
        return handler

    def unregister_rpc_method(self, method: str) -> None:
        self._rpc_handlers.pop(method, None)

    async def perform_rpc(
        self,
        *,
        destination_identity: str,
        method: str,
        payload: str,
        response_timeout: float | None = None,
        max_round_trip_latency: float | None = None,
    ) -> str:
        if self._room.hub is None:
            raise rtc.RpcError(rtc.RpcError.ErrorCode.RECIPIENT_NOT_FOUND, "no hub")
        return await self._room.hub._rpc(self.identity, destination_identity, method, payload)

    # data streams
    async def stream_bytes(
        self,
        name: str,
        *,
        total_size: int | None = None,
        mime_type: str = "application/octet-stream",
        attributes: dict[str, str] | None = None,
        stream_id: str | None = None,
        destination_identities: list[str] | None = None,
        topic: str = "",
    ) -> _Writer:
        info = rtc.ByteStreamInfo(
            stream_id=stream_id or uuid.uuid4().hex,
            mime_type=mime_type,
            topic=topic,
            timestamp=int(time.time() * 1000),
            size=total_size,
            attributes=dict(attributes or {}),
            name=name,
        )
        readers = []
        if self._room.hub is not None:
            readers = self._room.hub._open_stream(self._room, info, destination_identities)
        return _Writer(readers)

    async def send_bytes(
        self,
        data: bytes,
        *,
        topic: str = "",
        name: str | None = None,
        mime_type: str | None = None,
        destination_identities: list[str] | None = None,
        attributes: dict[str, str] | None = None,
        stream_id: str | None = None,
        compress: bool = True,
    ) -> rtc.ByteStreamInfo:
        writer = await self.stream_bytes(
            name or "data",
            topic=topic,
            destination_identities=destination_identities,
            attributes=attributes,
            stream_id=stream_id,
        )
        await writer.write(data)
        await writer.aclose()
        return rtc.ByteStreamInfo(
            stream_id="", mime_type="", topic=topic, timestamp=0, size=len(data),
            attributes=None, name=name or "",
        )  # fmt: skip

    async def send_text(
        self,
        text: str,
        *,
        topic: str = "",
        destination_identities: list[str] | None = None,
        attributes: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> rtc.TextStreamInfo:
        info = rtc.TextStreamInfo(
            stream_id=uuid.uuid4().hex, mime_type="text/plain", topic=topic,
            timestamp=int(time.time() * 1000), size=len(text), attributes=dict(attributes or {}),
            attachments=[],
        )  # fmt: skip
        if self._room.hub is not None:
            self._room.hub._send_text(self._room, info, text, destination_identities)
        return info

    async def stream_text(self, **kwargs: Any) -> Any:
        class _TW:
            async def write(self, text: str) -> None:
                return None

            async def aclose(self, **kw: Any) -> None:
                return None

        return _TW()


class FakeRoom(rtc.EventEmitter):
    """A connected room seen by one participant."""

    def __init__(
        self,
        identity: str = "agent",
        *,
        name: str = "fake-room",
        kind: int = rtc.ParticipantKind.PARTICIPANT_KIND_AGENT,
        attributes: dict[str, str] | None = None,
        hub: FakeHub | None = None,
        connected: bool = True,
    ) -> None:
        super().__init__()
        self.name = name
        self.hub = hub
        self._local = FakeLocalParticipant(self, identity, kind, attributes or {})
        self.remote_participants: dict[str, FakeRemoteParticipant] = {}
        self._byte_stream_handlers: dict[str, Any] = {}
        self._text_stream_handlers: dict[str, Any] = {}
        self.connected = connected

    @property
    def local_participant(self) -> FakeLocalParticipant:
        if not self.connected:
            raise Exception("cannot access local participant before connecting")
        return self._local

    def isconnected(self) -> bool:
        return self.connected

    def connect_now(self) -> None:
        """What ``await room.connect(...)`` does, as far as the avatar can see."""
        self.connected = True
        self.emit("connection_state_changed", rtc.ConnectionState.CONN_CONNECTED)

    @property
    def connection_state(self) -> int:
        return rtc.ConnectionState.CONN_CONNECTED

    def register_byte_stream_handler(self, topic: str, handler: Any) -> None:
        if topic in self._byte_stream_handlers:
            raise ValueError(f"byte stream handler for topic '{topic}' already set")
        self._byte_stream_handlers[topic] = handler

    def unregister_byte_stream_handler(self, topic: str) -> None:
        self._byte_stream_handlers.pop(topic, None)

    def register_text_stream_handler(self, topic: str, handler: Any) -> None:
        if topic in self._text_stream_handlers:
            raise ValueError(f"text stream handler for topic '{topic}' already set")
        self._text_stream_handlers[topic] = handler

    def unregister_text_stream_handler(self, topic: str) -> None:
        self._text_stream_handlers.pop(topic, None)

    async def disconnect(self) -> None:
        if self.hub is not None:
            self.hub.leave(self)
        self.connected = False


@dataclass
class FakeHub:
    """Connects fake rooms as if they were participants of one LiveKit room."""

    rooms: dict[str, FakeRoom] = field(default_factory=dict)
    rpc_log: list[tuple[str, str, str]] = field(default_factory=list)

    def join(
        self,
        identity: str,
        *,
        kind: int = rtc.ParticipantKind.PARTICIPANT_KIND_AGENT,
        attributes: dict[str, str] | None = None,
        name: str = "fake-room",
    ) -> FakeRoom:
        room = FakeRoom(identity, name=name, kind=kind, attributes=attributes, hub=self)
        for other in self.rooms.values():
            other_lp = other.local_participant
            remote = FakeRemoteParticipant(other_lp.identity, other_lp.kind, other_lp.attributes)
            for pub in other_lp.track_publications.values():
                remote.track_publications[pub.sid] = FakePublication(pub.name, pub.kind, pub.source)
            room.remote_participants[remote.identity] = remote
            me = FakeRemoteParticipant(identity, kind, attributes or {})
            other.remote_participants[identity] = me
            other.emit("participant_connected", me)
            other.emit("participant_active", me)
        self.rooms[identity] = room
        return room

    def leave(self, room: FakeRoom) -> None:
        identity = room.local_participant.identity
        self.rooms.pop(identity, None)
        for other in self.rooms.values():
            p = other.remote_participants.pop(identity, None)
            if p is not None:
                other.emit("participant_disconnected", p)

    def _track_published(self, room: FakeRoom, pub: FakePublication) -> None:
        identity = room.local_participant.identity
        for other in self.rooms.values():
            if other is room:
                continue
            p = other.remote_participants.get(identity)
            if p is None:
                continue
            rpub = FakePublication(pub.name, pub.kind, pub.source)
            p.track_publications[rpub.sid] = rpub
            other.emit("track_published", rpub, p)

    def _attributes_changed(self, room: FakeRoom, changed: dict[str, str]) -> None:
        identity = room.local_participant.identity
        for other in self.rooms.values():
            p = other.remote_participants.get(identity)
            if p is not None:
                p.attributes.update(changed)
                other.emit("participant_attributes_changed", changed, p)

    def _open_stream(
        self, sender: FakeRoom, info: rtc.ByteStreamInfo, destinations: list[str] | None
    ) -> list[_Reader]:
        readers = []
        loop = asyncio.get_running_loop()
        for identity, room in self.rooms.items():
            if room is sender or (destinations and identity not in destinations):
                continue
            handler = room._byte_stream_handlers.get(info.topic)
            if handler is None:
                continue
            reader = _Reader(info)
            readers.append(reader)
            loop.call_soon(handler, reader, sender.local_participant.identity)
        return readers

    def _send_text(
        self, sender: FakeRoom, info: rtc.TextStreamInfo, text: str, destinations: list[str] | None
    ) -> None:
        loop = asyncio.get_running_loop()
        for identity, room in self.rooms.items():
            if room is sender or (destinations and identity not in destinations):
                continue
            handler = room._text_stream_handlers.get(info.topic)
            if handler is None:
                continue
            reader = _Reader(info)  # type: ignore[arg-type]
            reader._q.put_nowait(text.encode())
            reader._q.put_nowait(None)
            loop.call_soon(handler, reader, sender.local_participant.identity)

    async def _rpc(self, caller: str, destination: str, method: str, payload: str) -> str:
        self.rpc_log.append((caller, destination, method))
        await asyncio.sleep(0.002)  # a network hop
        room = self.rooms.get(destination)
        if room is None:
            raise rtc.RpcError(rtc.RpcError.ErrorCode.RECIPIENT_NOT_FOUND, destination)
        handler = room.local_participant._rpc_handlers.get(method)
        if handler is None:
            raise rtc.RpcError(rtc.RpcError.ErrorCode.UNSUPPORTED_METHOD, method)
        data = rtc.RpcInvocationData(
            request_id=uuid.uuid4().hex,
            caller_identity=caller,
            payload=payload,
            response_timeout=10.0,
            method=method,
        )
        try:
            result = handler(data)
            if inspect.isawaitable(result):
                result = await result
        except rtc.RpcError:
            raise
        except Exception as e:
            raise rtc.RpcError(rtc.RpcError.ErrorCode.APPLICATION_ERROR, str(e)) from e
        return result or ""
