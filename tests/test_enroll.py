"""Enrollment: valid portraits of many encodings, and clear errors for bad ones."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from avatar_agent.errors import EnrollmentError
from avatar_agent.portrait.bundle import MASK_NAMES, AvatarBundle
from avatar_agent.portrait.detect import DetectedFace, find_face_model
from avatar_agent.portrait.enroll import EnrollConfig, _check_pose, enroll, enroll_image
from avatar_agent.portrait.image_io import load_portrait


def _save(img: np.ndarray | Image.Image, path, **kw):
    im = img if isinstance(img, Image.Image) else Image.fromarray(img)
    im.save(path, **kw)
    return path


def test_enroll_astronaut_bundle_contents(astronaut, tmp_path):
    b = enroll_image(astronaut, config=EnrollConfig(size=384))
    assert b.image.shape == (384, 384, 3) and b.image.dtype == np.uint8
    assert b.landmarks.shape == (478, 3) and np.isfinite(b.landmarks).all()
    assert set(b.masks) == set(MASK_NAMES)
    # the face mask covers the landmarks' face region; the person matte contains the face
    face = b.masks["face"] > 128
    person = b.masks["person"] > 128
    assert face.sum() > 0.05 * 384 * 384
    assert (person & face).sum() > 0.97 * face.sum()
    # background corners are not "person"
    assert b.masks["person"][5, 5] < 30 and b.masks["person"][5, -5] < 30
    # the astronaut smiles with teeth: detected, warned, sealed at rest
    assert b.meta["colours"]["teeth_visible"] is True
    assert any("mouth is open" in w for w in b.meta["warnings"])
    gap_ref = b.landmarks[14, 1] - b.landmarks[13, 1]
    gap_rest = b.rest[14, 1] - b.rest[13, 1]
    assert gap_ref > 3 and abs(gap_rest) < 1.0
    path = b.save(tmp_path / "a.avatar")
    back = AvatarBundle.load(path)
    np.testing.assert_array_equal(back.image, b.image)
    np.testing.assert_allclose(back.landmarks, b.landmarks)
    assert back.meta["version"] == 1


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "exif"])
def test_encodings_accepted(astronaut, tmp_path, mode):
    if mode == "L":
        path = _save(Image.fromarray(astronaut).convert("L"), tmp_path / "g.png")
    elif mode == "RGBA":
        rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
        rgba[:40, :40, 3] = 0
        path = _save(rgba, tmp_path / "a.png")
    elif mode == "I;16":
        g16 = (np.asarray(Image.fromarray(astronaut).convert("L"), np.uint16) * 257).astype(
            np.uint16
        )
        path = _save(Image.fromarray(g16), tmp_path / "d.png")
    else:
        # stored rotated; EXIF orientation 6 says "rotate 90° clockwise to display"
        stored = Image.fromarray(astronaut).transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
        path = _save(stored, tmp_path / "e.jpg", exif=exif, quality=95)
        np.testing.assert_equal(load_portrait(path).shape, astronaut.shape)
    img = load_portrait(path)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    b = enroll(path, size=256)
    assert b.size == 256 and abs(b.meta["reference_pose"]["roll"]) < 10


def test_bad_files(tmp_path):
    with pytest.raises(EnrollmentError, match="not found"):
        load_portrait(tmp_path / "missing.png")
    txt = tmp_path / "notes.png"
    txt.write_text("hello, I am not an image")
    with pytest.raises(EnrollmentError, match="not an image"):
        load_portrait(txt)
    good = _save(np.zeros((64, 64, 3), np.uint8), tmp_path / "x.png")
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes(good.read_bytes()[:60])
    with pytest.raises(EnrollmentError):
        load_portrait(trunc)


def test_no_face(tmp_path):
    yy, xx = np.mgrid[0:300, 0:300]
    grad = np.dstack([xx % 256, yy % 256, (xx + yy) % 256]).astype(np.uint8)
    with pytest.raises(EnrollmentError, match="no face"):
        enroll(_save(grad, tmp_path / "g.png"))


def test_two_faces_need_choice(astronaut, tmp_path):
    two = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    path = _save(two, tmp_path / "two.png")
    with pytest.raises(EnrollmentError, match="--face"):
        enroll(path, size=256)
    b = enroll(path, size=256, face=1)
    assert b.size == 256
    with pytest.raises(EnrollmentError, match="out of range"):
        enroll(path, size=256, face=5)


def test_face_too_small(astronaut, tmp_path):
    small = np.asarray(Image.fromarray(astronaut).resize((160, 160)))
    with pytest.raises(EnrollmentError, match="too small"):
        enroll(_save(small, tmp_path / "s.png"), size=512)


def test_extreme_pose(astronaut, tmp_path):
    rolled = np.ascontiguousarray(np.rot90(astronaut))
    with pytest.raises(EnrollmentError, match="pose"):
        enroll(_save(rolled, tmp_path / "r.png"), size=256)
    turned = DetectedFace(np.zeros((478, 3), np.float32), yaw=48.0)
    with pytest.raises(EnrollmentError, match="sideways"):
        _check_pose(turned, EnrollConfig())


def test_closed_eyes_warned(renderer, tmp_path):
    from avatar_agent.motion import frame_from_dict

    shut = renderer.render(frame_from_dict({"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}))
    b = enroll(_save(shut, tmp_path / "shut.png"), size=256)
    assert any("eyes look closed" in w for w in b.meta["warnings"])


def test_model_locator(tmp_path, monkeypatch):
    assert find_face_model().is_file()
    monkeypatch.setenv("AVATAR_AGENT_FACE_MODEL", str(tmp_path / "nope.task"))
    with pytest.raises(FileNotFoundError, match="AVATAR_AGENT_FACE_MODEL"):
        find_face_model()


def test_cli_errors_are_one_line(tmp_path):
    txt = tmp_path / "face.jpg"
    txt.write_text("definitely not a jpeg")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "avatar_agent",
            "enroll",
            str(txt),
            "-o",
            str(tmp_path / "x.avatar"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    err = [line for line in proc.stderr.splitlines() if line.startswith("avatar-agent")]
    assert len(err) == 1 and "not an image" in err[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.avatar").exists()
