"""The motion stage: plans chunks, runs the motion driver, smooths, queues frames to render.

Each chunk is speech or idle, with a frame count, a behaviour label and an eased expression.

Chunking: the first chunk of a segment is short (``first_chunk_frames``) so the first frame
comes quickly; later chunks are ``chunk_frames`` long; while an expression eases, chunks are
one frame so the expression moves every frame. The stage never runs more than
``lead_frames`` (plus one chunk) ahead of the consumer, so speech starts soon after it is
pushed and memory stays bounded.

Continuity: when the label changes or speech is interrupted, the difference between the last
shown pose and the driver's new pose is blended away over ``transition_s`` (an offset that
decays with a smoothstep), so nothing pops. Outside speech a mouth gate keeps the lips
closed (beyond what the expression itself asks for).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np

from avatar_agent.behavior import Behavior, ExpressionMixer, smoothstep
from avatar_agent.generator.conditions import overlay
from avatar_agent.generator.driver import MotionDriver
from avatar_agent.motion import PARAM_INDEX, PARAMS
from avatar_agent.stream.segments import MOTION_RATE, Segment
from avatar_agent.stream.shared import FrameItem, Shared
from avatar_agent.stream.types import SegmentDone

__all__ = ["MotionStage"]

log = logging.getLogger(__name__)

_JAW = PARAM_INDEX["jawOpen"]
_CLOSE = PARAM_INDEX["mouthClose"]
_PITCH = PARAM_INDEX["headPitch"]
_N_BLEND = PARAM_INDEX["headYaw"]
_LIPS_SLACK = 0.04  # lips-apart allowed outside speech beyond the expression's own


@dataclass
class _Chunk:
    index: int
    frames: int
    state: str
    expression: np.ndarray
    audio16: np.ndarray
    lookahead16: np.ndarray | None
    audio_out: list[np.ndarray]
    n_real: list[int]
    segment: Segment | None
    done: list[SegmentDone]
    first_push_wall: float | None


class MotionStage(threading.Thread):
    """Worker thread of the motion stage.

    Args:
        shared: Engine state.
        driver: The motion driver (runs at the engine fps).
        out: Bounded queue to the render stage.
        behavior: The label state machine.
    """

    def __init__(
        self, shared: Shared, driver: MotionDriver, out: queue.Queue, behavior: Behavior
    ) -> None:
        super().__init__(name="avatar-motion", daemon=True)
        self.s = shared
        self.driver = driver
        self.out = out
        self.behavior = behavior
        cfg = shared.config
        self.mixer = ExpressionMixer(cfg.expression_ease_s)
        self.lookahead = max(0, int(getattr(driver, "lookahead_frames", 0)))
        self.blend_frames = max(1, round(cfg.transition_s * float(shared.timeline.fps)))
        self._n = 0
        self._epoch = shared.epoch
        self._prev: np.ndarray | None = None  # last pose produced
        self._prev_state = behavior.label
        self._offset: np.ndarray | None = None
        self._offset_pos = 0
        self._wait_since: float | None = None
        self._empty_done: list[SegmentDone] = []
        self._last_error_log = -float("inf")

    # ------------------------------------------------------------------ thread
    def run(self) -> None:
        """Produce chunks until the engine stops."""
        cond = self.s.cond
        while True:
            with cond:
                chunk = None
                while not self.s.stopped:
                    chunk = self._next_chunk()
                    if chunk is not None:
                        break
                if chunk is None:
                    return
                epoch = self._epoch
            motion = self._generate(chunk)
            self._emit(chunk, motion, epoch)

    # ------------------------------------------------------------------ planning (locked)
    def _next_chunk(self) -> _Chunk | None:
        """Return the next chunk, or wait on the condition and return None."""
        s, cfg = self.s, self.s.config
        if s.epoch != self._epoch:
            self._restart()
        if self._n > s.next_out + cfg.lead_frames:
            s.cond.wait(0.25)
            return None
        t = s.timeline.time(self._n)
        while s.signals:
            self.behavior.signal(s.signals.popleft(), t)
        while s.expressions:
            vec, duration = s.expressions.popleft()
            self.mixer.set(vec, t, duration)
        decision = self._decide(t)
        if isinstance(decision, float):
            s.cond.wait(decision)
            return None
        self._wait_since = None
        return decision

    def _restart(self) -> None:
        """After ``clear()``: rewind to the consumer, blend from the last shown pose."""
        s = self.s
        self._epoch = s.epoch
        self._n = s.restart_index
        self._wait_since = None
        self._empty_done.clear()
        self.behavior.interrupt(s.timeline.time(self._n))
        if s.last_motion is not None:
            self._prev = s.last_motion.copy()
        self._prev_state = "interrupted"  # forces a transition blend

    def _wait_or_give_up(self, pending: bool) -> float | None:
        """Seconds to wait for more audio, or None to go on without it."""
        s, cfg = self.s, self.s.config
        wall = time.monotonic()
        if self._wait_since is None:
            self._wait_since = wall
        waited = wall - self._wait_since
        if cfg.realtime:
            left = s.due(self._n) - 1.0 / float(s.timeline.fps) - s.clock.now()
            if left <= 0 or waited >= cfg.underrun_wait_s:
                return None
            return min(left, 0.01)
        limit = 5.0 if pending else cfg.underrun_wait_s
        return None if waited >= limit else 0.01

    def _avail(self, seg: Segment, limit: int) -> int:
        """Whole frames from the current index both sample queues can fill (≤ limit)."""
        tl, n = self.s.timeline, self._n
        have_out, have16 = len(seg.fifo_out), len(seg.fifo16)
        m = 0
        while m < limit:
            if tl.span(n, m + 1, seg.out_rate) > have_out:
                break
            if tl.span(n, m + 1, MOTION_RATE) > have16:
                break
            m += 1
        return m

    def _frames_left(self, seg: Segment, cap: int) -> int:
        """Frames (≤ cap) needed to play the rest of a complete segment (last one padded)."""
        tl, n, left = self.s.timeline, self._n, len(seg.fifo_out)
        m = 0
        while m < cap and tl.span(n, m, seg.out_rate) < left:
            m += 1
        return m

    def _decide(self, t: float) -> _Chunk | float:
        s, cfg = self.s, self.s.config
        la = self.lookahead
        # segments that ended without any audio finish at once
        while s.segments and s.segments[0].complete and not s.segments[0].started:
            if len(s.segments[0].fifo_out):
                break
            seg = s.segments.popleft()
            self._empty_done.append(SegmentDone(seg.id, 0.0, False))
        seg = s.segments[0] if s.segments else None
        chunk_s = cfg.chunk_frames / float(s.timeline.fps)
        easing = self.mixer.easing(t, chunk_s)
        if seg is not None and not seg.started:
            avail = self._avail(seg, cfg.first_chunk_frames + la)
            if not (seg.complete or avail >= cfg.first_chunk_frames + la):
                wait = self._wait_or_give_up(seg.pending)
                if wait is not None:
                    return wait
                if avail == 0:
                    seg = None
            if seg is not None:
                seg.started = True
                s.metrics.segments_started += 1
        if seg is None:
            k = 1 if easing else cfg.idle_chunk_frames
            return self._idle_chunk(t, k)
        want = cfg.first_chunk_frames if seg.frames_planned == 0 else cfg.chunk_frames
        if easing:
            want = 1
        if seg.complete:
            k = self._frames_left(seg, want)
            silent = k == 0
            k = max(k, 1)
        else:
            avail = self._avail(seg, want + la)
            if avail >= want + la:
                k, silent = want, False
            else:
                wait = self._wait_or_give_up(seg.pending)
                if wait is not None:
                    return wait
                k, silent = (min(want, avail), False) if avail else (1, True)
        return self._speech_chunk(t, seg, k, silent)

    def _idle_chunk(self, t: float, k: int) -> _Chunk:
        s = self.s
        tl, out_rate = s.timeline, s.config.audio_sample_rate
        state = self.behavior.update(t, speech_active=False)
        done, self._empty_done = self._empty_done, []
        return _Chunk(
            index=self._n,
            frames=k,
            state=state,
            expression=self.mixer.value(t),
            audio16=np.zeros(tl.span(self._n, k, MOTION_RATE), np.float32),
            lookahead16=None,
            audio_out=[np.zeros(tl.length(self._n + j, out_rate), np.int16) for j in range(k)],
            n_real=[0] * k,
            segment=None,
            done=done,
            first_push_wall=None,
        )

    def _speech_chunk(self, t: float, seg: Segment, k: int, silent: bool) -> _Chunk:
        s, tl, n = self.s, self.s.timeline, self._n
        first = seg.first_push_wall if seg.frames_planned == 0 else None
        audio_out, n_real = [], []
        for j in range(k):
            length = tl.length(n + j, seg.out_rate)
            a = np.zeros(length, np.int16)
            if not silent:
                got = seg.fifo_out.take(length)
                a[: got.size] = got
                n_real.append(int(got.size))
            else:
                n_real.append(0)
            audio_out.append(a)
        a16 = np.zeros(tl.span(n, k, MOTION_RATE), np.float32)
        look = None
        if not silent:
            got16 = seg.fifo16.take(a16.size)
            a16[: got16.size] = got16
            if self.lookahead:
                look = seg.fifo16.peek(tl.span(n + k, self.lookahead, MOTION_RATE))
        elif not seg.complete:
            s.metrics.underrun_frames += k
        seg.frames_planned += k
        done = list(self._empty_done)
        self._empty_done.clear()
        if seg.complete and not len(seg.fifo_out):
            done.append(SegmentDone(seg.id, seg.fifo_out.appended / seg.out_rate, False))
            seg.fifo16.clear()
            if s.segments and s.segments[0] is seg:
                s.segments.popleft()
        state = self.behavior.update(t, speech_active=True)
        return _Chunk(n, k, state, self.mixer.value(t), a16, look, audio_out, n_real, seg,
                      done, first)  # fmt: skip

    # ------------------------------------------------------------------ generation (unlocked)
    def _generate(self, chunk: _Chunk) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            motion = np.asarray(
                self.driver.generate(
                    chunk.audio16,
                    chunk.frames,
                    lookahead16k=chunk.lookahead16,
                    state=chunk.state,
                    expression=chunk.expression,
                ),
                np.float32,
            )
            if motion.shape != (chunk.frames, len(PARAMS)):
                raise ValueError(f"driver returned shape {motion.shape}")
            motion = np.nan_to_num(motion, nan=0.0, posinf=0.0, neginf=0.0)
        except Exception:  # one bad chunk must not end the stream: hold the pose
            self.s.metrics.driver_errors += 1
            now = time.monotonic()
            if now - self._last_error_log > 10.0:
                self._last_error_log = now
                log.exception("motion driver failed; holding the previous pose")
            base = self._prev if self._prev is not None else np.zeros(len(PARAMS), np.float32)
            motion = np.repeat(base[None, :], chunk.frames, axis=0)
        self._smooth(chunk, motion)
        self.s.metrics.add_motion(time.perf_counter() - t0, chunk.frames)
        return motion

    def _smooth(self, chunk: _Chunk, motion: np.ndarray) -> None:
        """Transition blend, mouth gate and listening nod, in place."""
        if chunk.state != self._prev_state and self._prev is not None:
            self._offset = self._prev - motion[0]
            self._offset_pos = 0
        self._prev_state = chunk.state
        n_blend = self.blend_frames
        tl = self.s.timeline
        lips_allowed = None
        if chunk.state != "speaking":
            ov = overlay(chunk.expression)
            lips_allowed = max(0.0, float(ov[_JAW] - ov[_CLOSE])) + _LIPS_SLACK
        for j in range(chunk.frames):
            gate = 1.0
            if self._offset is not None:
                w = 1.0 - float(smoothstep((self._offset_pos + 1) / (n_blend + 1)))
                motion[j] += self._offset * w
                gate = 1.0 - w
                self._offset_pos += 1
                if self._offset_pos >= n_blend:
                    self._offset = None
            if lips_allowed is not None:
                excess = motion[j, _JAW] - motion[j, _CLOSE] - lips_allowed
                if excess > 0:
                    motion[j, _JAW] -= excess * gate
                if self.s.config.listening_nods:
                    motion[j, _PITCH] += self.behavior.nod_pitch(tl.time(chunk.index + j))
            np.clip(motion[j, :_N_BLEND], 0.0, 1.0, out=motion[j, :_N_BLEND])
        self._prev = motion[-1].copy()

    def _emit(self, chunk: _Chunk, motion: np.ndarray, epoch: int) -> None:
        """Queue the chunk's frames for rendering (blocks while the queue is full)."""
        last = chunk.frames - 1
        for j in range(chunk.frames):
            item = FrameItem(
                epoch=epoch,
                index=chunk.index + j,
                motion=motion[j].copy(),
                audio=chunk.audio_out[j],
                segment_id=chunk.segment.id if chunk.segment is not None else None,
                n_real=chunk.n_real[j],
                state=chunk.state,
                expression=chunk.expression,
                done=tuple(chunk.done) if j == last else (),
                first_push_wall=chunk.first_push_wall if j == 0 else None,
            )
            while True:
                if self.s.stopped or self.s.epoch != epoch:
                    return
                try:
                    self.out.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
        with self.s.cond:
            if self.s.epoch == epoch:
                self._n = chunk.index + chunk.frames
