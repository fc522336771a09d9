"""MP4 output: H.264 video with frame-exact AAC audio, plus probing and reading back.

:class:`Mp4Writer` takes one RGB frame at a time together with that frame's audio
slice. Video frame i gets the presentation time ``i / fps`` exactly (the encoder
time base is ``1 / fps``); the audio track is the concatenation of the slices,
and :meth:`Mp4Writer.close` pads or trims it so that after N frames it lasts
exactly ``N / fps`` (to the sample). Frame boundaries follow
:func:`avatar_agent.audio.frame_boundaries`, so fractional samples per frame
(16000 / 30 = 533.33) never accumulate.

The AAC encoder's 1024-sample priming delay is declared in the MP4 edit list,
which FFmpeg-based readers (and PyAV) honour: a click written with frame k
decodes at ``k / fps`` (measured in ``tests/test_video.py``). Decoders do return
the zero padding of the last AAC frame (up to 1023 samples) past the declared
end; :func:`probe_mp4` reports both the declared and the decoded length.

Colours: RGB is converted to BT.709 limited-range YUV 4:2:0 and the stream is
tagged BT.709, so players decode the colours as written.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from types import TracebackType
from typing import Any

import av
import numpy as np

from avatar_agent.audio import (
    AudioError,
    StreamingResampler,
    as_fraction,
    frame_boundaries,
    sanitize,
    to_mono,
)

__all__ = ["AAC_RATES", "Mp4Writer", "VideoError", "probe_mp4", "read_mp4_frames", "write_mp4"]

AAC_RATES = (7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200,
             96000)  # fmt: skip
"""Sample rates AAC can carry; other audio rates are resampled to 48 kHz."""

_AAC_FRAME = 1024
_BT709 = 1  # AVCOL_PRI_BT709 / AVCOL_TRC_BT709 / AVCOL_SPC_BT709
_RANGE_MPEG = 1  # AVCOL_RANGE_MPEG (limited range)


class VideoError(RuntimeError):
    """Bad video input or a failure writing or reading an MP4 file."""


def _size(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        width = height = int(size)
    else:
        try:
            width, height = (int(v) for v in size)
        except (TypeError, ValueError):
            raise VideoError(f"size must be an int or (width, height), got {size!r}") from None
    if width < 2 or height < 2:
        raise VideoError(f"frame size must be at least 2x2, got {width}x{height}")
    return width, height


class Mp4Writer:
    """Write H.264 + AAC MP4 files frame by frame with exact A/V alignment.

    Use as a context manager, or call :meth:`close`. Odd frame sizes are padded to
    even ones by repeating the last row/column (yuv420p needs even sizes).

    Args:
        path: Output file (overwritten).
        fps: Frame rate; a float (read as the nearest fraction with denominator
            ≤ 1001, so 30000/1001 stays exact) or a ``Fraction``.
        size: Frame size: an int for square frames or ``(width, height)``.
        audio_rate: Sample rate of the audio passed to :meth:`write`, or ``None``
            for a file without audio. AAC is encoded at this rate when AAC supports
            it (see :data:`AAC_RATES`), otherwise at 48 kHz.
        crf: x264 constant rate factor (0-51, lower is better quality).
        preset: x264 preset.

    Raises:
        VideoError: Bad arguments or the file cannot be created.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fps: float | Fraction,
        size: int | tuple[int, int],
        audio_rate: int | None = 16000,
        crf: int = 20,
        preset: str = "veryfast",
    ) -> None:
        try:
            self.fps = as_fraction(fps)
        except (TypeError, ValueError) as err:
            raise VideoError(str(err)) from None
        self.width, self.height = _size(size)
        self.audio_rate = None if audio_rate is None else int(audio_rate)
        if self.audio_rate is not None and self.audio_rate <= 0:
            raise VideoError(f"audio_rate must be positive or None, got {audio_rate!r}")
        self.path = os.fspath(path)
        self._n_frames = 0
        self._closed = False
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise VideoError(f"cannot create {self.path}: folder {folder} does not exist")
        try:
            self._container = av.open(self.path, mode="w", format="mp4")
        except (av.error.FFmpegError, OSError) as err:
            raise VideoError(f"cannot create {self.path}: {err}") from None
        try:
            self._setup_streams(crf, preset)
        except (av.error.FFmpegError, ValueError) as err:
            self._container.close()
            raise VideoError(f"cannot set up encoders for {self.path}: {err}") from None

    def _setup_streams(self, crf: int, preset: str) -> None:
        vs = self._container.add_stream("libx264", rate=self.fps)
        vs.width, vs.height = self.width + self.width % 2, self.height + self.height % 2
        vs.pix_fmt = "yuv420p"
        vs.options = {"crf": str(crf), "preset": preset}
        cc = vs.codec_context
        cc.time_base = 1 / self.fps
        cc.color_primaries = cc.color_trc = cc.colorspace = _BT709
        cc.color_range = _RANGE_MPEG
        self._video = vs
        self._audio = None
        self.encoded_rate: int | None = None
        self._resampler: StreamingResampler | None = None
        if self.audio_rate is None:
            return
        self.encoded_rate = self.audio_rate if self.audio_rate in AAC_RATES else 48000
        if self.encoded_rate != self.audio_rate:
            self._resampler = StreamingResampler(self.audio_rate, self.encoded_rate)
        self._audio = self._container.add_stream("aac", rate=self.encoded_rate)
        self._audio.layout = "mono"
        self._pending = np.zeros(0, dtype=np.float32)  # input-rate audio not yet due
        self._released = 0  # input-rate samples handed on (≤ due(n_frames))
        self._fifo = np.zeros(0, dtype=np.float32)  # encoder-rate samples not yet encoded
        self._encoded = 0  # encoder-rate samples sent to the encoder

    # ----------------------------------------------------------------- public

    @property
    def n_frames(self) -> int:
        """Video frames written so far."""
        return self._n_frames

    @property
    def duration(self) -> float:
        """Seconds written so far: ``n_frames / fps``."""
        return float(self._n_frames / self.fps)

    def write(self, frame: np.ndarray, audio: np.ndarray | None = None) -> None:
        """Append one video frame and its audio.

        Args:
            frame: RGB ``uint8`` array of shape ``(height, width, 3)``.
            audio: This frame's audio slice (mono float at ``audio_rate``; int16
                accepted). ``None`` means silence of exactly one frame's duration.
                Slices are concatenated: a slice longer or shorter than the frame
                shifts the following audio rather than being cut, and the total is
                made exactly ``n_frames / fps`` at :meth:`close`.

        Raises:
            VideoError: Wrong frame shape or dtype, audio given to a writer without
                audio, or the writer is closed.
        """
        if self._closed:
            raise VideoError(f"{self.path}: write() after close()")
        rgb = self._check_frame(frame)
        if self._audio is None:
            if audio is not None:
                raise VideoError("audio given but the writer was made with audio_rate=None")
            self._encode_video(rgb)
            self._n_frames += 1
            return
        assert self.audio_rate is not None
        due = frame_boundaries(self._n_frames + 1, self.fps, self.audio_rate)
        if audio is None:
            chunk = np.zeros(int(due[-1] - due[-2]), dtype=np.float32)
        else:
            try:
                chunk = to_mono(sanitize(audio))
            except AudioError as err:
                raise VideoError(f"bad audio for frame {self._n_frames}: {err}") from None
        self._encode_video(rgb)
        self._n_frames += 1
        self._pending = np.concatenate([self._pending, chunk])
        n_release = min(len(self._pending), int(due[-1]) - self._released)
        if n_release > 0:
            self._release(self._pending[:n_release])
            self._pending = self._pending[n_release:]
        try:
            self._encode_audio(final=False)
        except av.error.FFmpegError as err:
            raise VideoError(f"cannot encode audio for {self.path}: {err}") from None

    def close(self) -> None:
        """Finish the audio to exactly ``n_frames / fps``, flush the encoders, close the file."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._audio is not None:
                assert self.audio_rate is not None
                due_in = int(frame_boundaries(self._n_frames, self.fps, self.audio_rate)[-1])
                tail = self._pending[: max(0, due_in - self._released)]
                tail = np.concatenate([tail, np.zeros(due_in - self._released - len(tail))])
                self._release(tail.astype(np.float32))
                if self._resampler is not None:
                    self._fifo = np.concatenate([self._fifo, self._resampler.flush()])
                due_out = int(frame_boundaries(self._n_frames, self.fps, self.encoded_rate)[-1])
                want = max(0, due_out - self._encoded)
                self._fifo = np.concatenate(
                    [self._fifo[:want], np.zeros(max(0, want - len(self._fifo)), np.float32)]
                )
                self._encode_audio(final=True)
                self._mux(self._audio.encode(None))
            self._mux(self._video.encode(None))
        except (av.error.FFmpegError, OSError) as err:
            raise VideoError(f"cannot finish {self.path}: {err}") from None
        finally:
            self._container.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        with contextlib.suppress(VideoError):  # keep the original error
            self.close()

    # ----------------------------------------------------------------- internals

    def _check_frame(self, frame: np.ndarray) -> np.ndarray:
        arr = np.asarray(frame)
        if arr.dtype != np.uint8 or arr.shape != (self.height, self.width, 3):
            raise VideoError(
                f"frame must be uint8 of shape ({self.height}, {self.width}, 3), "
                f"got {arr.dtype} {arr.shape}"
            )
        pad_h, pad_w = self.height % 2, self.width % 2
        if pad_h or pad_w:
            arr = np.pad(arr, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        return np.ascontiguousarray(arr)

    def _encode_video(self, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format="yuv420p",
            dst_colorspace="itu709",
            dst_color_range="MPEG",
            dst_color_trc=_BT709,
            dst_color_primaries=_BT709,
        )
        frame.pts = self._n_frames
        frame.time_base = 1 / self.fps
        try:
            packets = self._video.encode(frame)
        except av.error.FFmpegError as err:
            raise VideoError(f"cannot encode video for {self.path}: {err}") from None
        self._mux(packets)

    def _release(self, samples: np.ndarray) -> None:
        """Hand input-rate samples on towards the encoder (resampling if needed)."""
        self._released += len(samples)
        if self._resampler is not None:
            samples = self._resampler.push(samples)
        self._fifo = np.concatenate([self._fifo, samples])

    def _encode_audio(self, *, final: bool) -> None:
        assert self._audio is not None
        n_full = len(self._fifo) // _AAC_FRAME
        sizes = [_AAC_FRAME] * n_full
        if final and len(self._fifo) % _AAC_FRAME:
            sizes.append(len(self._fifo) % _AAC_FRAME)
        start = 0
        for n in sizes:
            chunk = self._fifo[start : start + n]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            frame.sample_rate = self.encoded_rate
            frame.pts = self._encoded
            frame.time_base = Fraction(1, self.encoded_rate)
            self._mux(self._audio.encode(frame))
            self._encoded += n
            start += n
        self._fifo = self._fifo[start:]

    def _mux(self, packets: Iterable[av.Packet]) -> None:
        try:
            for packet in packets:
                self._container.mux(packet)
        except (av.error.FFmpegError, OSError) as err:
            raise VideoError(f"cannot write {self.path}: {err}") from None


def write_mp4(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    fps: float | Fraction,
    audio: np.ndarray | None = None,
    audio_rate: int | None = 16000,
    **kw: Any,
) -> int:
    """Write a whole clip; the audio is padded with silence or trimmed to ``n_frames / fps``.

    Args:
        path: Output file.
        frames: RGB ``uint8`` frames, all the same size (taken from the first).
        fps: Frame rate.
        audio: Mono float samples at ``audio_rate`` starting with frame 0, or ``None``
            for a silent audio track (or no track if ``audio_rate`` is ``None``).
        audio_rate: Sample rate of ``audio``, or ``None`` for no audio track.
        **kw: Passed to :class:`Mp4Writer` (``crf``, ``preset``).

    Returns:
        The number of frames written.

    Raises:
        VideoError: No frames, frames of different sizes, or audio without a rate.
    """
    it = iter(frames)
    try:
        first = np.asarray(next(it))
    except StopIteration:
        raise VideoError("write_mp4 needs at least one frame") from None
    if first.ndim != 3:
        raise VideoError(f"frames must be (height, width, 3) arrays, got shape {first.shape}")
    if audio is not None:
        if audio_rate is None:
            raise VideoError("audio given with audio_rate=None")
        try:
            audio = to_mono(sanitize(audio))
        except AudioError as err:
            raise VideoError(f"bad audio: {err}") from None
    with Mp4Writer(path, fps=fps, size=(first.shape[1], first.shape[0]), audio_rate=audio_rate,
                   **kw) as writer:  # fmt: skip
        frame: np.ndarray | None = first
        while frame is not None:
            chunk = None
            if audio is not None and audio_rate is not None:
                b = frame_boundaries(writer.n_frames + 1, writer.fps, audio_rate)[-2:]
                chunk = audio[int(b[0]) : int(b[1])]
                if len(chunk) < b[1] - b[0]:
                    chunk = np.concatenate([chunk, np.zeros(int(b[1] - b[0]) - len(chunk))])
            writer.write(frame, chunk)
            frame = next(it, None)
        return writer.n_frames


def _open_for_reading(path: str | os.PathLike[str]) -> av.container.InputContainer:
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise VideoError(f"video file not found: {name}")
    try:
        return av.open(name, mode="r")
    except (av.error.FFmpegError, OSError) as err:
        raise VideoError(f"cannot read {name} as video: {err}") from None


def probe_mp4(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Measure a video file by demuxing and decoding it.

    Durations come from the packets: a track lasts from time 0 to the end of its
    last packet (pts + duration), which for the audio excludes the AAC priming
    packet (negative pts, dropped by the edit list) and counts the last frame's
    real samples only.

    Args:
        path: MP4 (or any container FFmpeg reads) with one video stream.

    Returns:
        A dict with ``n_frames`` (decoded video frames), ``fps`` (float),
        ``width``, ``height``, ``video_start`` (time of the first decoded frame),
        ``video_duration`` (s), ``audio_rate``, ``audio_start`` (time of the first
        decoded audio sample), ``audio_duration`` (s), ``audio_declared_duration``
        (the track duration in the header, from the edit list, in whole
        milliseconds) and ``audio_decoded_duration`` (decoded samples / rate,
        which includes the zero padding of the last AAC frame). The audio entries
        are ``None`` without an audio track.

    Raises:
        VideoError: Missing or unreadable file, or no video stream.
    """
    name = os.fspath(path)
    with _open_for_reading(name) as container:
        if not container.streams.video:
            raise VideoError(f"no video stream in {name}")
        vs = container.streams.video[0]
        st = container.streams.audio[0] if container.streams.audio else None
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        n_frames, n_samples = 0, 0
        video_start = audio_start = None
        ends = {vs.index: 0.0}
        try:
            for packet in container.demux(*[s for s in (vs, st) if s is not None]):
                if packet.pts is not None and packet.duration is not None:
                    end = float((packet.pts + packet.duration) * packet.time_base)
                    ends[packet.stream.index] = max(ends.get(packet.stream.index, 0.0), end)
                for frame in packet.decode():
                    if packet.stream is vs:
                        n_frames += 1
                        if video_start is None and frame.time is not None:
                            video_start = float(frame.time)
                    else:
                        n_samples += frame.samples
                        if audio_start is None and frame.time is not None:
                            audio_start = float(frame.time)
        except av.error.FFmpegError as err:
            raise VideoError(f"cannot decode {name}: {err}") from None
        info: dict[str, Any] = {
            "n_frames": n_frames,
            "fps": float(rate) if rate else 0.0,
            "width": vs.codec_context.width,
            "height": vs.codec_context.height,
            "video_start": video_start,
            "video_duration": ends[vs.index],
            "audio_rate": None,
            "audio_start": None,
            "audio_duration": None,
            "audio_declared_duration": None,
            "audio_decoded_duration": None,
        }
        if st is not None:
            sample_rate = st.codec_context.sample_rate
            info["audio_rate"] = sample_rate
            info["audio_start"] = audio_start
            info["audio_duration"] = ends.get(st.index, 0.0)
            if st.duration is not None and st.time_base is not None:
                info["audio_declared_duration"] = float(st.duration * st.time_base)
            info["audio_decoded_duration"] = n_samples / sample_rate if sample_rate else 0.0
    return info


def read_mp4_frames(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """Decode the video frames of a file as RGB.

    Args:
        path: Video file.

    Yields:
        ``uint8`` arrays of shape ``(height, width, 3)``.

    Raises:
        VideoError: Missing or unreadable file, or no video stream.
    """
    with _open_for_reading(path) as container:
        if not container.streams.video:
            raise VideoError(f"no video stream in {os.fspath(path)}")
        try:
            for frame in container.decode(container.streams.video[0]):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as err:
            raise VideoError(f"cannot decode {os.fspath(path)}: {err}") from None
