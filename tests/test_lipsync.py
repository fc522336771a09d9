"""Lip sync of the embedded learned model on voices it never trained on.

Audio comes from held-out espeak-ng voices (accents and variants excluded from training,
see ``avatar_agent/train/corpus/espeak.py``), synthesised here with exact phone timings. The
model runs through the streaming driver exactly as the engine calls it. Quality is measured,
not assumed: lip opening against phone-derived openness, closures on /p b m/, rest in
silence, and re-detected lip gaps on rendered frames.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import lip_gap

from avatar_agent.audio import resample
from avatar_agent.generator.driver import drive_track, make_driver
from avatar_agent.generator.learned import LearnedMotionDriver
from avatar_agent.motion import PARAM_INDEX, PARAMS, lip_contact
from avatar_agent.train.corpus import espeak
from avatar_agent.train.metrics import lip_shape_metrics, lipsync_metrics, track_metrics
from avatar_agent.train.phones import Phone
from avatar_agent.train.targets import mouth_targets
from avatar_agent.train.targets.visemes import closure_frames, lip_openness

pytestmark = pytest.mark.skipif(
    not espeak.available(), reason="libespeak-ng missing (make install installs espeak-ng)"
)

SENTENCES = (
    "Maybe Bob will bring the big map back by Monday.",
    "Please keep moving, the bus stops by the pub at nine.",
    "We observed five vivid blue boats move past the bay.",
    "Hello, how can I help you with your order today?",
)
VOICES = (
    espeak.EspeakVoice("en-us", "m3", 165),
    espeak.EspeakVoice("en-gb-scotland", "f2", 175),
    espeak.EspeakVoice("en-gb-x-gbcwmd", "", 185, pitch=60),
)
JAW, CLOSE = PARAM_INDEX["jawOpen"], PARAM_INDEX["mouthClose"]


@pytest.fixture(scope="module")
def heldout() -> list[tuple[np.ndarray, list]]:
    out = []
    for voice in VOICES:
        assert voice.is_eval, voice  # truly held out of training
        for text in SENTENCES:
            x, rate, phones = espeak.synth(text, voice)
            pad = np.zeros(int(0.6 * 16000), np.float32)
            y = np.concatenate([pad, resample(x, rate, 16000), pad])
            shifted = [type(p)(p.symbol, p.start + 0.6, p.end + 0.6) for p in phones]
            out.append((y, shifted))
    return out


def test_open_shut_is_the_share_of_open_vowel_frames_with_lips_closed() -> None:
    phones = [Phone("sil", 0.0, 0.2), Phone("AA", 0.2, 0.6), Phone("M", 0.6, 0.7),
              Phone("AA", 0.7, 1.1), Phone("sil", 1.1, 1.4)]  # fmt: skip
    ref = lip_openness(phones, 35, 25.0)
    follows = lipsync_metrics([0.5 * ref], [0.5 * ref], [phones])
    assert follows["open_shut"] == 0.0 and follows["closure"] == 1.0
    assert follows["n_open_frames"] == (ref >= 0.3).sum() >= 15
    shut = lipsync_metrics([np.zeros(35)], [np.zeros(35)], [phones])
    assert shut["open_shut"] == 1.0 and shut["closure"] == 1.0  # closing everywhere is caught
    half = 0.5 * ref
    idx = np.flatnonzero(ref >= 0.3)[::2]
    half[idx] = 0.0
    m = lipsync_metrics([half], [half], [phones])
    assert m["open_shut"] == pytest.approx(len(idx) / (ref >= 0.3).sum())


def test_lip_shape_aucs_rank_rounded_vowels_and_tucked_lips() -> None:
    phones = [Phone("sil", 0.0, 0.2), Phone("F", 0.2, 0.3), Phone("UW", 0.3, 0.5),
              Phone("T", 0.5, 0.6), Phone("IY", 0.6, 0.8), Phone("V", 0.8, 0.9),
              Phone("OW", 0.9, 1.1), Phone("S", 1.1, 1.2), Phone("EH", 1.2, 1.4),
              Phone("sil", 1.4, 1.6)]  # fmt: skip
    n = 40
    targets = track_metrics([lip_contact(mouth_targets(phones, n, 25.0).values)], [phones])
    assert targets["rounding_auc"] == 1.0 and targets["labiodental_auc"] == 1.0
    assert (targets["n_rounded"], targets["n_spread"], targets["n_labiodental"]) == (2, 2, 2)
    still = track_metrics([np.zeros((n, len(PARAMS)), np.float32)], [phones])
    assert still["rounding_auc"] == 0.5 and still["labiodental_auc"] == 0.5  # ties: chance
    centre = (np.arange(n) + 0.5) / 25.0
    wrong = np.zeros(n)  # rounds the spread vowels and tucks the lip on /t s/ instead
    for p in phones:
        if p.symbol in ("IY", "EH", "T", "S"):
            wrong[(centre >= p.start) & (centre < p.end)] = 1.0
    m = lip_shape_metrics([wrong], [wrong], [phones])
    assert m["rounding_auc"] == 0.0 and m["labiodental_auc"] == 0.0
    assert np.isnan(lip_shape_metrics([np.zeros(5)], [np.zeros(5)], [[]])["rounding_auc"])
    empty = lip_shape_metrics([np.zeros(0)], [np.zeros(0)], [phones])  # no frames: no phones
    assert empty["n_rounded"] == 0 and np.isnan(empty["labiodental_auc"])


@pytest.fixture(scope="module")
def driver() -> LearnedMotionDriver:
    drv = make_driver("auto")
    assert isinstance(drv, LearnedMotionDriver), "the learned model is the default driver"
    return drv


@pytest.fixture(scope="module")
def tracks(driver: LearnedMotionDriver, heldout: list) -> list[np.ndarray]:
    return [drive_track(driver, x, chunk=8).values for x, _ in heldout]


def test_lip_sync_on_heldout_voices(tracks: list[np.ndarray], heldout: list) -> None:
    m = lipsync_metrics(
        [t[:, JAW] - t[:, CLOSE] for t in tracks],
        [t[:, JAW] for t in tracks],
        [p for _, p in heldout],
    )
    assert m["n_closures"] >= 20 and m["n_rest_frames"] >= 200
    assert m["r"] >= 0.7, m
    assert m["closure"] >= 0.85, m
    assert m["rest"] >= 0.9, m
    assert abs(m["lag_ms"]) <= 80, m


def test_learned_model_beats_loudness_baseline_on_closures(
    tracks: list[np.ndarray], heldout: list
) -> None:
    base = make_driver("baseline")
    bt = [drive_track(base, x).values for x, _ in heldout]
    phones = [p for _, p in heldout]
    learned = lipsync_metrics(
        [t[:, JAW] - t[:, CLOSE] for t in tracks], [t[:, JAW] for t in tracks], phones
    )
    baseline = lipsync_metrics(
        [t[:, JAW] - t[:, CLOSE] for t in bt], [t[:, JAW] for t in bt], phones
    )
    assert learned["closure"] > baseline["closure"] + 0.2, (learned, baseline)


def test_lip_shapes_follow_rounded_vowels_and_f_v_on_heldout_voices(
    tracks: list[np.ndarray], heldout: list
) -> None:
    """Vowel shapes, not just opening: /uw ow/ round the lips, /iy eh/ spread them, /f v/ tuck."""
    phones = [p for _, p in heldout]
    learned = track_metrics(tracks, phones)
    base = make_driver("baseline")
    baseline = track_metrics([drive_track(base, x).values for x, _ in heldout], phones)
    assert learned["n_rounded"] >= 15 and learned["n_labiodental"] >= 15, learned
    assert learned["rounding_auc"] >= 0.75, learned
    assert learned["labiodental_auc"] >= 0.75, learned
    assert learned["rounding_auc"] > baseline["rounding_auc"] + 0.15, (learned, baseline)
    assert learned["labiodental_auc"] > baseline["labiodental_auc"] + 0.15, (learned, baseline)


def test_listening_keeps_the_mouth_at_rest(driver: LearnedMotionDriver, heldout: list) -> None:
    x, _ = heldout[0]
    t = drive_track(driver, x, state="listening").values
    opening = t[:, JAW] - t[:, CLOSE]
    assert np.percentile(opening, 95) < 0.08  # the partner talks; the avatar's lips stay shut


def test_rendered_closures_and_vowels_redetected(
    tracks: list[np.ndarray], heldout: list, renderer, detector
) -> None:
    """Render the frames the model closes on /b m p/ and its most open frames; re-detect."""
    closed_gaps, open_gaps = [], []
    for track, (_, phones) in list(zip(tracks, heldout, strict=True))[:4]:
        opening = track[:, JAW] - track[:, CLOSE]
        cl = np.flatnonzero(closure_frames(phones, len(track)))
        cl = cl[np.argsort(opening[cl])][:2]
        op = np.argsort(opening)[-2:]
        for idx, gaps in ((cl, closed_gaps), (op, open_gaps)):
            for i in idx:
                faces = detector.detect(renderer.render(track[i]))
                assert len(faces) == 1
                gaps.append(lip_gap(faces[0].landmarks))
    assert np.median(closed_gaps) < 0.05, closed_gaps
    assert np.median(open_gaps) > 0.15, open_gaps
