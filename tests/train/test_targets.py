"""Motion targets: visemes, silence, states, label changes, ranges, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_agent.generator.conditions import N_EXPRESSIONS, expression_vector
from avatar_agent.motion import PARAM_INDEX as I
from avatar_agent.motion import PARAMS, lip_contact
from avatar_agent.train.phones import Phone
from avatar_agent.train.targets import (
    MOUTH_PARAMS,
    lip_openness,
    make_targets,
    make_targets_segments,
    mouth_targets,
    prosody,
    rest_frames,
)
from avatar_agent.train.targets.visemes import VISEMES, closure_frames

FPS = 25.0
H = I["headYaw"]
MOUTH_IDX = [I[p] for p in MOUTH_PARAMS]
REST_IDX = [I[p] for p in MOUTH_PARAMS if not p.startswith("mouthSmile")]
BLINK_IDX = [I["eyeBlinkLeft"], I["eyeBlinkRight"]]


def seq(*items: tuple[str, float], t0: float = 0.0) -> list[Phone]:
    out, t = [], t0
    for sym, d in items:
        out.append(Phone(sym, t, t + d))
        t += d
    return out


def n_for(phones: list[Phone], tail: float = 0.3) -> int:
    return int((phones[-1].end + tail) * FPS)


def opening(y: np.ndarray) -> np.ndarray:
    return y[:, I["jawOpen"]] - y[:, I["mouthClose"]]


def sentence(seed: int = 0, words: int = 30) -> list[Phone]:
    """Random CV(C) syllables with pauses: every phone class, random timings."""
    rng = np.random.default_rng(seed)
    vowels = ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "UH", "UW"]
    cons = ["P", "B", "M", "F", "V", "T", "D", "S", "Z", "SH", "K", "G", "L", "R", "W", "N", "TH"]
    items: list[tuple[str, float]] = [("sil", 0.3)]
    for _ in range(words):
        for _ in range(int(rng.integers(1, 3))):
            items.append((str(rng.choice(cons)), float(rng.uniform(0.04, 0.11))))
            items.append((str(rng.choice(vowels)), float(rng.uniform(0.06, 0.2))))
        if rng.random() < 0.2:
            items.append(("sil", float(rng.uniform(0.2, 0.6))))
    items.append(("sil", 0.4))
    return seq(*items)


# ------------------------------------------------------------------ visemes
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("sym", ["P", "B", "M"])
def test_bilabials_close(sym: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t0 = float(rng.uniform(0.3, 0.34))
    for dur in (0.04, 0.05, 0.06, 0.09):
        for v1, v2 in (("AA", "AE"), ("AY", "OW"), ("IY", "AH")):
            ph = seq(("sil", t0), (v1, 0.12), (sym, dur), (v2, 0.15), ("sil", 0.3))
            n = n_for(ph)
            y = make_targets(ph, n, state="speaking", expression="surprised", rng=seed)
            p = ph[2]
            frames = [i for i in range(n) if (i + 1) / FPS > p.start and i / FPS < p.end]
            assert min(opening(y)[frames]) <= 0.02, (sym, dur, v1, v2)


def test_bilabials_in_sentences() -> None:
    for seed in range(4):
        ph = sentence(seed)
        n = n_for(ph)
        y = make_targets(ph, n, state="speaking", expression="happy", rng=seed)
        op = opening(y)
        for p in ph:
            if p.symbol in ("P", "B", "M") and p.end - p.start >= 0.04:
                frames = [i for i in range(n) if (i + 1) / FPS > p.start and i / FPS < p.end]
                assert min(op[frames]) <= 0.02
        assert closure_frames(ph, n, FPS).sum() > 0


def test_silence_rests() -> None:
    ph = seq(("sil", 0.3), ("AA", 0.15), ("T", 0.06), ("sil", 0.5), ("B", 0.06), ("AA", 0.2))
    ph += seq(("sil", 0.25), ("IY", 0.1), ("sil", 0.6), t0=ph[-1].end)
    n = n_for(ph)
    y = make_targets(ph, n, state="speaking", rng=0)
    centres = (np.arange(n) + 0.5) / FPS
    for p in ph:
        if p.symbol == "sil" and p.end - p.start >= 0.2:
            m = (centres > p.start + 0.12) & (centres < p.end - 0.1)
            assert m.any() or p.end - p.start < 0.3
            assert np.all(y[np.ix_(m, REST_IDX)] < 0.02)
            assert np.all(y[np.ix_(m, [I["mouthSmileLeft"]])] < 0.02)
    # and before the first phone
    assert np.all(y[:5, MOUTH_IDX] < 0.02)
    # rest_frames() names exactly frames at rest
    rest = rest_frames(ph, n, FPS)
    assert rest.sum() > 0.3 * n
    assert np.all(y[np.ix_(rest, MOUTH_IDX)] < 0.02)


def test_rest_frames_cover_most_silence() -> None:
    tot = at_rest = 0
    for seed in range(4):
        ph = sentence(seed)
        n = n_for(ph)
        y = make_targets(ph, n, state="speaking", rng=seed)
        rest = rest_frames(ph, n, FPS)
        assert np.all(np.abs(opening(y)[rest]) < 1e-6)
        centres = (np.arange(n) + 0.5) / FPS
        for p in ph:
            if p.symbol == "sil" and p.end - p.start >= 0.2:
                m = (centres >= p.start + 0.12) & (centres < p.end - 0.1)
                tot += m.sum()
                at_rest += (m & rest).sum()
    assert at_rest >= 0.95 * tot


def test_labiodentals_tuck_lower_lip() -> None:
    for sym in ("F", "V"):
        for v in ("AA", "IY", "UW"):
            ph = seq(("sil", 0.3), (v, 0.14), (sym, 0.09), ("AE", 0.14), ("sil", 0.3))
            n = n_for(ph)
            y = make_targets(ph, n, state="speaking", rng=0)
            p = ph[2]
            frames = [i for i in range(n) if p.start <= (i + 0.5) / FPS < p.end]
            assert frames
            for i in frames:
                assert y[i, I["mouthRollLower"]] > 0.2
                assert y[i, I["jawOpen"]] < 0.15


def test_rounding() -> None:
    ph = seq(("sil", 0.3), ("T", 0.06), ("UW", 0.18), ("sil", 0.3))
    n = n_for(ph)
    y = make_targets(ph, n, state="speaking", rng=0)
    i = int(0.5 * (ph[2].start + ph[2].end) * FPS)
    assert y[i, I["mouthPucker"]] > 0.3 and y[i, I["mouthFunnel"]] > 0.3
    # anticipatory rounding reaches into the preceding consonants
    ph = seq(("sil", 0.3), ("S", 0.08), ("T", 0.06), ("UW", 0.18), ("sil", 0.3))
    ph2 = seq(("sil", 0.3), ("S", 0.08), ("T", 0.06), ("IY", 0.18), ("sil", 0.3))
    y1 = mouth_targets(ph, n_for(ph)).values
    y2 = mouth_targets(ph2, n_for(ph2)).values
    j = int(0.5 * (ph[2].start + ph[2].end) * FPS)  # in /t/
    assert y1[j, I["mouthPucker"]] > y2[j, I["mouthPucker"]] + 0.15


def test_vowel_height_orders_jaw() -> None:
    peaks = {}
    for v in ("AA", "AE", "AH", "EH", "IH", "IY"):
        ph = seq(("sil", 0.3), ("HH", 0.05), (v, 0.2), ("sil", 0.4))
        y = make_targets(ph, n_for(ph), state="speaking", rng=0)
        peaks[v] = float(y[:, I["jawOpen"]].max())
    order = ["AA", "AE", "AH", "EH", "IH", "IY"]
    for a, b in zip(order, order[1:], strict=False):
        assert peaks[a] > peaks[b], peaks


def test_lip_openness_reference() -> None:
    ph = sentence(3)
    n = n_for(ph)
    ref = lip_openness(ph, n, FPS)
    assert ref.shape == (n,) and ref.min() >= 0 and ref.max() <= 1
    assert np.all(ref[closure_frames(ph, n, FPS)] == 0)
    centres = (np.arange(n) + 0.5) / FPS
    for p in ph:
        if p.symbol == "sil":
            assert np.all(ref[(centres >= p.start) & (centres < p.end)] == 0)
    # the targets' lip opening tracks the reference
    y = make_targets(ph, n, state="speaking", rng=0)
    assert np.corrcoef(opening(y), ref)[0, 1] > 0.8


# ------------------------------------------------------------------ states
def test_only_speaking_moves_the_mouth() -> None:
    ph = sentence(1)
    n = n_for(ph)
    for state in ("listening", "idle"):
        y = make_targets(ph, n, state=state, rng=0)
        assert np.all(y[:, REST_IDX] < 0.02), state
        assert np.all(opening(y) <= 0.0)


def test_listening_nods_at_pauses() -> None:
    ph = seq(("sil", 0.5), ("HH", 0.06), ("AH", 0.1), ("L", 0.06), ("OW", 0.2), ("sil", 0.6))
    ph += seq(("W", 0.06), ("AH", 0.1), ("T", 0.06), ("sil", 1.5), t0=ph[-1].end)
    n = n_for(ph)
    for seed in range(5):
        y = make_targets(ph, n, state="listening", rng=seed)
        pitch = y[:, I["headPitch"]]
        pause = ph[5]
        a, b = int(pause.start * FPS), int((pause.start + 1.0) * FPS)
        before = pitch[max(0, a - 5) : a].mean()
        assert pitch[a:b].max() - before > 1.0, seed
        assert np.median(pitch) > 0.3  # slight forward lean
        assert y[:, I["mouthSmileLeft"]].mean() > 0.03


def blink_starts(y: np.ndarray) -> int:
    b = y[:, I["eyeBlinkLeft"]] > 0.5
    return int(np.sum(b[1:] & ~b[:-1]) + b[0])


@pytest.mark.parametrize("seed", range(5))
def test_idle_blinks_and_breathing(seed: int) -> None:
    n = int(60 * FPS)
    y = make_targets([], n, state="idle", rng=seed)
    assert 8 <= blink_starts(y) <= 30
    assert y[:, BLINK_IDX].max() > 0.95  # full blinks reach a frame
    pitch = y[:, I["headPitch"]] - y[:, I["headPitch"]].mean()
    spec = np.abs(np.fft.rfft(pitch * np.hanning(n)))
    freqs = np.fft.rfftfreq(n, 1 / FPS)
    band = (freqs > 0.15) & (freqs < 0.6)
    peak = freqs[band][np.argmax(spec[band])]
    assert 1 / 5 <= peak <= 1 / 3


@pytest.mark.parametrize("seed", range(3))
def test_speaking_and_listening_blink_rates(seed: int) -> None:
    ph = sentence(seed, words=90)
    n = n_for(ph)
    minutes = n / FPS / 60
    for state in ("speaking", "listening"):
        y = make_targets(ph, n, state=state, rng=seed)
        rate = blink_starts(y) / minutes
        assert 8 <= rate <= 32, (state, rate)


def test_thinking_looks_away() -> None:
    for seed in range(6):
        y = make_targets([], 250, state="thinking", rng=seed)
        away = np.maximum.reduce(
            [y[:, I["eyeLookUpLeft"]], y[:, I["eyeLookOutLeft"]], y[:, I["eyeLookOutRight"]]]
        )
        assert away.mean() > 0.2
        assert (y[:, I["mouthPressLeft"]] > 0.05).mean() > 0.9
        brow = y[:, [I["browInnerUp"], I["browDownLeft"], I["browDownRight"]]].max(1)
        assert brow.mean() > 0.15


def test_speaking_prosody_drives_brows_and_head() -> None:
    ph = sentence(5)
    n = n_for(ph)
    y = make_targets(ph, n, state="speaking", rng=0)
    assert y[:, I["browInnerUp"]].max() > 0.1
    assert np.ptp(y[:, I["headPitch"]]) > 1.0
    assert np.ptp(y[:, I["headYaw"]]) > 0.5
    # with audio: a voiced tone with a pitch accent
    sr = 16000
    t = np.arange(int(ph[-1].end * sr)) / sr
    f0 = 150 + 60 * np.exp(-(((t - 1.0) / 0.1) ** 2))
    audio = 0.3 * np.sin(2 * np.pi * np.cumsum(f0) / sr).astype(np.float32)
    pr = prosody(audio)
    fr = pr.at_frames(n, FPS)
    assert abs(float(np.median(pr.f0_hz[pr.voiced])) - 150) < 10
    assert fr.f0_st[int(1.0 * FPS)] > 3.0
    ya = make_targets(ph, n, state="speaking", audio16k=audio, rng=0)
    assert np.isfinite(ya).all()


# ------------------------------------------------------------------ composition
def test_label_changes_are_smooth() -> None:
    ph = sentence(2)
    n = n_for(ph)
    states = ["idle"] * n
    cut = [n // 5, 2 * n // 5, 3 * n // 5, 4 * n // 5]
    labels = ["thinking", "speaking", "listening", "thinking"]
    for a, b, s in zip(cut, cut[1:] + [n], labels, strict=True):
        states[a:b] = [s] * (b - a)
    expr = np.zeros((n, N_EXPRESSIONS), np.float32)
    expr[n // 2 :] = expression_vector("happy")
    expr[3 * n // 4 :] = expression_vector("concerned")
    y = make_targets_segments(ph, n, states=states, expressions=expr, rng=4)
    step = np.abs(np.diff(y, axis=0))
    assert step[:, H:].max() < 0.8  # degrees per frame
    gaze = [j for j in range(H) if PARAMS[j].startswith("eyeLook")]
    other = [j for j in range(H) if j not in MOUTH_IDX + BLINK_IDX + gaze]
    assert step[:, other].max() < 0.2
    assert step[:, gaze].max() < 0.35  # saccades are quick, but never a pop
    for c in cut:  # at the label changes gaze cross-fades
        assert step[c - 5 : c + 5, gaze].max() < 0.2
    # the mouth only moves inside the speaking stretch (plus the fade)
    m = np.ones(n, bool)
    m[cut[1] - 8 : cut[2] + 8] = False
    assert np.all(opening(y)[m] <= 0.02)


def test_constant_segments_match_make_targets() -> None:
    ph = sentence(0)
    n = n_for(ph)
    a = make_targets(ph, n, state="speaking", expression="sad", rng=9)
    b = make_targets_segments(ph, n, states=["speaking"] * n, expressions="sad", rng=9)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("state", ["idle", "speaking", "listening", "thinking"])
def test_ranges_and_determinism(state: str) -> None:
    ph = sentence(7)
    n = n_for(ph)
    for expr in (None, "happy", "surprised", {"angry": 1.0, "sad": 1.0}):
        y = make_targets(ph, n, state=state, expression=expr, rng=np.random.default_rng(3))
        assert y.shape == (n, len(PARAMS)) and y.dtype == np.float32
        assert np.isfinite(y).all()
        assert y[:, :H].min() >= 0 and y[:, :H].max() <= 1
        assert np.abs(y[:, H:]).max() <= 10
        assert np.all(opening(y) >= -1e-7)  # lips never pass each other by default
        # with an overshoot the lips aim past contact on /p b m/ frames, nowhere else
        yo = make_targets(
            ph, n, state=state, expression=expr, rng=np.random.default_rng(3),
            closure_overshoot=0.15,
        )  # fmt: skip
        closed = closure_frames(ph, n, FPS) if state == "speaking" else np.zeros(n, bool)
        np.testing.assert_array_equal(yo[~closed], y[~closed])
        over = np.minimum(0.15, 1.0 - yo[closed, I["jawOpen"]])
        np.testing.assert_allclose(opening(yo)[closed], -over, atol=1e-6)
        np.testing.assert_array_equal(lip_contact(yo.copy()), y)
        y2 = make_targets(ph, n, state=state, expression=expr, rng=np.random.default_rng(3))
        np.testing.assert_array_equal(y, y2)
    y3 = make_targets(ph, n, state=state, rng=4)
    assert not np.array_equal(make_targets(ph, n, state=state, rng=3), y3)


def test_expression_does_not_open_closures() -> None:
    ph = seq(("sil", 0.3), ("AA", 0.12), ("M", 0.06), ("AA", 0.12), ("sil", 0.3))
    n = n_for(ph)
    y = make_targets(ph, n, state="speaking", expression={"surprised": 1, "happy": 1}, rng=0)
    closed = closure_frames(ph, n, FPS)
    assert closed.any()
    assert np.all(opening(y)[closed] <= 1e-6)
    assert y[closed, I["mouthSmileLeft"]].min() > 0.3  # a closed-lip smile


def test_short_and_empty_inputs() -> None:
    assert make_targets([], 0, state="speaking", rng=0).shape == (0, len(PARAMS))
    y = make_targets(seq(("B", 0.03)), 2, state="speaking", rng=0)
    assert y.shape == (2, len(PARAMS))
    with pytest.raises(ValueError):
        make_targets([], 10, state="dancing", rng=0)
    with pytest.raises(ValueError):
        make_targets_segments([], 10, states=["idle"] * 9, rng=0)


def test_visemes_cover_phone_set() -> None:
    from avatar_agent.train.phones import PHONE_SET

    assert set(PHONE_SET) <= set(VISEMES)


# ------------------------------------------------------------------ a real utterance
_ESPEAK_TO_ARPABET = {
    "@": "AH", "V": "AH", "3": "ER", "3:": "ER", "a": "AE", "aa": "AE", "A:": "AA", "0": "AA",
    "O": "AO", "O:": "AO", "E": "EH", "e@": "EH", "I": "IH", "I@": "IH", "i": "IY", "i:": "IY",
    "U": "UH", "U@": "UH", "u:": "UW", "aI": "AY", "aU": "AW", "eI": "EY", "oU": "OW",
    "OI": "OY", "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "f": "F", "v": "V",
    "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH", "tS": "CH", "dZ": "JH",
    "h": "HH", "m": "M", "n": "N", "N": "NG", "l": "L", "r": "R", "w": "W", "j": "Y",
}  # fmt: skip


def _espeak_phones(text: str) -> tuple[list[Phone], float]:
    """Phone timings from libespeak-ng's phoneme events (skips if the library is missing)."""
    import ctypes

    try:
        lib = ctypes.CDLL("libespeak-ng.so.1")
    except OSError:
        pytest.skip("libespeak-ng not available")

    class Event(ctypes.Structure):
        _fields_ = [
            ("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
            ("text_position", ctypes.c_int), ("length", ctypes.c_int),
            ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
            ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8),
        ]  # fmt: skip

    rate = lib.espeak_Initialize(2, 0, None, 0x8001)  # synchronous, phoneme events
    if rate <= 0 or lib.espeak_SetVoiceByName(b"en-us") != 0:
        pytest.skip("espeak-ng could not start")
    events: list[tuple[int, str]] = []
    n_samples = [0]
    callback_t = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(Event)
    )

    def on_audio(wav: object, n: int, ev: ctypes.Array) -> int:  # type: ignore[type-arg]
        n_samples[0] += max(n, 0)
        i = 0
        while ev[i].type != 0:
            if ev[i].type == 7:  # espeakEVENT_PHONEME
                events.append((ev[i].audio_position, ev[i].id.split(b"\0")[0].decode()))
            i += 1
        return 0

    cb = callback_t(on_audio)
    lib.espeak_SetSynthCallback(cb)
    data = text.encode()
    lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 1, None, None)
    lib.espeak_Synchronize()
    total = n_samples[0] / rate
    phones: list[Phone] = []
    for k, (ms, name) in enumerate(events):
        end = events[k + 1][0] / 1000 if k + 1 < len(events) else total
        start = ms / 1000
        if end <= start:
            continue
        sym = (
            "sil" if name.startswith("_") else _ESPEAK_TO_ARPABET.get(name.rstrip("#/-;0123456789"))
        )
        sym = sym or _ESPEAK_TO_ARPABET.get(name, "AH")
        if phones and phones[-1].symbol == sym == "sil":
            phones[-1] = Phone("sil", phones[-1].start, end)
        else:
            phones.append(Phone(sym, start, end))
    if not phones:
        pytest.skip("espeak-ng gave no phoneme events")
    return phones, total


def test_espeak_utterance() -> None:
    phones, total = _espeak_phones("Hello, my name is Bob. We should move fast. Five of them!")
    assert {"B", "M", "F"} <= {p.symbol for p in phones}
    n = int(total * FPS) + 5
    y = make_targets(phones, n, state="speaking", expression="happy", rng=0)
    op = opening(y)
    for p in phones:
        frames = [i for i in range(n) if (i + 1) / FPS > p.start and i / FPS < p.end]
        if p.symbol in ("P", "B", "M") and p.end - p.start >= 0.04:
            assert min(op[frames]) <= 0.02, p
        if p.symbol in ("F", "V") and p.end - p.start >= 0.06:
            assert max(y[frames, I["mouthRollLower"]]) > 0.2, p
    rest = rest_frames(phones, n, FPS)
    assert rest.any() and np.all(y[np.ix_(rest, REST_IDX)] < 0.02)
    assert np.corrcoef(op, lip_openness(phones, n, FPS))[0, 1] > 0.75
