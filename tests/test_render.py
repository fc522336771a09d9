"""Renderer quality, measured by re-detecting the rendered face with FaceLandmarker."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import eye_opening, lip_gap

from avatar_agent.motion import PARAMS, frame_from_dict
from avatar_agent.render.renderer import CPURenderer


def _measure(detector, renderer, values):
    faces = detector.detect(renderer.render(frame_from_dict(values)))
    assert len(faces) == 1, f"face not re-detected for {values}"
    return faces[0]


def test_neutral_reproduces_portrait(renderer, bundle):
    out = renderer.render(frame_from_dict({}))
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - bundle.image.astype(int)).max(2)
    # identical to the portrait except around the mouth, where the rest pose seals the
    # reference's parted lips
    from avatar_agent.portrait import mesh

    lips = bundle.landmarks[list(mesh.LIPS_OUTER), :2]
    x0, y0 = (lips.min(0) - 0.4 * bundle.meta["iod"]).astype(int)
    x1, y1 = (lips.max(0) + 0.4 * bundle.meta["iod"]).astype(int)
    diff[y0:y1, x0:x1] = 0
    assert diff.max() <= 1


def test_jaw_sweep_opens_lips_monotonically(detector, renderer):
    gaps = [lip_gap(_measure(detector, renderer, {"jawOpen": j}).landmarks)
            for j in np.linspace(0, 1, 6)]  # fmt: skip
    assert gaps[0] < 0.05, gaps
    assert gaps[-1] > 0.3, gaps
    assert all(b > a for a, b in zip(gaps, gaps[1:], strict=False)), gaps


def test_mouth_close_cancels_jaw_at_lips(detector, renderer):
    open_ = lip_gap(_measure(detector, renderer, {"jawOpen": 0.5}).landmarks)
    closed = lip_gap(_measure(detector, renderer, {"jawOpen": 0.5, "mouthClose": 0.5}).landmarks)
    assert open_ > 0.15 and closed < 0.05


def test_mouth_close_past_jaw_stops_at_contact(renderer):
    # the learned model aims past contact on /p b m/; the lips stop where they meet
    at_contact = renderer.render(frame_from_dict({"jawOpen": 0.1, "mouthClose": 0.1}))
    past = renderer.render(frame_from_dict({"jawOpen": 0.1, "mouthClose": 0.25}))
    np.testing.assert_array_equal(past, at_contact)


def test_blink_closes_eyes(detector, renderer):
    f_open = _measure(detector, renderer, {})
    f_shut = _measure(detector, renderer, {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0})
    assert eye_opening(f_shut.landmarks) < 0.5 * eye_opening(f_open.landmarks)
    for side in ("Left", "Right"):
        assert f_shut.blendshapes[f"eyeBlink{side}"] > f_open.blendshapes[f"eyeBlink{side}"] + 0.25


@pytest.mark.parametrize("axis,amount", [("headYaw", 10.0), ("headPitch", 8.0), ("headRoll", 8.0)])
def test_head_pose_follows_command(detector, renderer, axis, amount):
    attr = {"headYaw": "yaw", "headPitch": "pitch", "headRoll": "roll"}[axis]
    neg = getattr(_measure(detector, renderer, {axis: -amount}), attr)
    mid = getattr(_measure(detector, renderer, {}), attr)
    pos = getattr(_measure(detector, renderer, {axis: amount}), attr)
    assert neg < mid < pos
    # the measured turn is at least half the commanded one each way
    assert pos - mid > 0.5 * amount and mid - neg > 0.5 * amount


def test_background_still_while_head_turns(renderer, bundle):
    ref = renderer.render(frame_from_dict({}))
    person = bundle.masks["person"] > 0
    # "far from the head": more than 12% of the frame from any part of the person
    # (a turning head legitimately sweeps hair over the background next to it)
    import cv2

    k = int(0.12 * bundle.size) * 2 + 1
    near = cv2.dilate(person.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    far = ~near
    assert far.mean() > 0.05
    moved_any = False
    for values in ({"headYaw": 10}, {"headYaw": -10}, {"headPitch": 8}, {"headRoll": -8}):
        out = renderer.render(frame_from_dict(values))
        np.testing.assert_array_equal(out[far], ref[far])
        moved_any |= bool(np.abs(out.astype(int) - ref.astype(int))[person].max() > 30)
    assert moved_any


def test_no_nans_and_random_frames(renderer):
    rng = np.random.default_rng(1)
    frame = frame_from_dict({"jawOpen": 0.4})
    frame[3] = np.nan
    frame[-1] = np.inf
    out = renderer.render(frame)
    assert out.dtype == np.uint8
    for _ in range(30):
        v = rng.uniform(0, 1, len(PARAMS)).astype(np.float32)
        v[-3:] = rng.uniform(-15, 15, 3)
        assert renderer.render(v).shape == (512, 512, 3)
    with pytest.raises(ValueError):
        renderer.render(np.zeros(5))


@pytest.mark.parametrize("size", [256, 384])
def test_other_sizes(detector, bundle, size):
    r = CPURenderer(bundle, size=size)
    img = r.render(frame_from_dict({"jawOpen": 0.5}))
    assert img.shape == (size, size, 3)
    faces = detector.detect(img)
    assert len(faces) == 1 and lip_gap(faces[0].landmarks) > 0.15


def test_teeth_stay_inside_the_mouth(renderer, bundle):
    """Mouth-interior pixels never appear outside the current inner-lip outline."""
    import cv2

    from avatar_agent.portrait import mesh

    for j in (0.2, 0.6, 1.0):
        w = frame_from_dict({"jawOpen": j, "headYaw": 6})
        out = renderer.render(w)
        pts = renderer.rig.positions(w)
        inner = np.zeros(out.shape[:2], np.uint8)
        cv2.fillPoly(inner, [np.round(pts[list(mesh.LIPS_INNER)]).astype(np.int32)], 255)
        outside = cv2.dilate(inner, np.ones((5, 5), np.uint8)) == 0
        mouth_box = np.zeros_like(outside)
        x0, y0 = pts[list(mesh.LIPS_OUTER)].min(0).astype(int) - 20
        x1, y1 = pts[list(mesh.LIPS_OUTER)].max(0).astype(int) + 20
        mouth_box[y0:y1, x0:x1] = True
        # outside the opening, only the warp acts: same as a frame without the jaw
        # (within the lip area itself the jaw moves skin, so compare against the frame
        # with the same jaw but the interior layer off)
        renderer_mouth = renderer.mouth
        renderer.mouth = type("NoMouth", (), {"draw": lambda *a, **k: False})()
        try:
            plain = renderer.render(w)
        finally:
            renderer.mouth = renderer_mouth
        np.testing.assert_array_equal(out[outside & mouth_box], plain[outside & mouth_box])
