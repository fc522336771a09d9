import numpy as np
import pytest

from avatar_agent.motion import (
    BLENDSHAPES,
    PARAM_INDEX,
    PARAMS,
    MotionError,
    MotionTrack,
    frame_from_dict,
    lip_contact,
)


def test_canonical_names():
    assert len(BLENDSHAPES) == 52 and len(set(BLENDSHAPES)) == 52
    assert PARAMS[-3:] == ("headYaw", "headPitch", "headRoll")
    assert "jawOpen" in PARAMS and "mouthClose" in PARAMS and "eyeBlinkLeft" in PARAMS


def test_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    vals = rng.uniform(0, 1, (40, len(PARAMS))).astype(np.float32)
    vals[:, -3:] = rng.uniform(-20, 20, (40, 3))
    track = MotionTrack(vals, 30.0)
    path = tmp_path / "m.csv"
    track.to_csv(path)
    header = path.read_text().splitlines()[0].split(",")
    assert header[0] == "time" and header[1:] == list(PARAMS)
    back = MotionTrack.from_csv(path)
    assert back.fps == pytest.approx(30.0)
    assert len(back) == 40
    np.testing.assert_allclose(back.values, track.values, atol=1e-3)


def test_json_round_trip(tmp_path):
    track = MotionTrack.from_columns({"jawOpen": [0, 0.5, 1.0], "headYaw": [0, 5, -5]}, 25)
    track.to_json(tmp_path / "m.json")
    back = MotionTrack.load(tmp_path / "m.json")
    np.testing.assert_allclose(back.column("jawOpen"), [0, 0.5, 1.0], atol=1e-5)
    np.testing.assert_allclose(back.column("headYaw"), [0, 5, -5], atol=1e-5)


def test_csv_subset_of_columns_and_errors(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("time,jawOpen\n0,0.1\n0.04,0.9\n0.08,0.2\n")
    t = MotionTrack.from_csv(p)
    assert t.fps == pytest.approx(25.0)
    np.testing.assert_allclose(t.column("jawOpen"), [0.1, 0.9, 0.2], atol=1e-6)
    assert float(np.abs(t.column("eyeBlinkLeft")).sum()) == 0.0
    bad = tmp_path / "b.csv"
    bad.write_text("time,notAShape\n0,1\n0.04,1\n")
    with pytest.raises(MotionError, match="unknown"):
        MotionTrack.from_csv(bad)
    first = tmp_path / "c.csv"
    first.write_text("jawOpen,time\n0,0\n1,0.04\n")
    with pytest.raises(MotionError, match="time"):
        MotionTrack.from_csv(first)
    uneven = tmp_path / "d.csv"
    uneven.write_text("time,jawOpen\n0,0\n0.04,0\n0.5,0\n")
    with pytest.raises(MotionError, match="even"):
        MotionTrack.from_csv(uneven)
    with pytest.raises(MotionError, match="cannot read"):
        MotionTrack.from_csv(tmp_path / "missing.csv")


def test_values_cleaned_and_validated():
    vals = np.zeros((3, len(PARAMS)), np.float32)
    vals[0, 0] = np.nan
    vals[1, 1] = 7.0
    vals[2, -1] = 400.0
    t = MotionTrack(vals, 25)
    assert np.isfinite(t.values).all()
    assert t.values[1, 1] == 1.0 and t.values[2, -1] == 45.0
    with pytest.raises(MotionError):
        MotionTrack(np.zeros((3, 5)), 25)
    with pytest.raises(MotionError):
        MotionTrack(np.zeros((3, len(PARAMS))), 0)
    with pytest.raises(MotionError):
        frame_from_dict({"smile": 1.0})


def test_lip_contact_stops_mouth_close_at_jaw_open():
    v = np.zeros((3, len(PARAMS)), np.float32)
    v[:, PARAM_INDEX["jawOpen"]] = [0.1, 0.3, 0.0]
    v[:, PARAM_INDEX["mouthClose"]] = [0.25, 0.1, 0.2]
    out = lip_contact(v)
    assert out is v
    np.testing.assert_allclose(v[:, PARAM_INDEX["mouthClose"]], [0.1, 0.1, 0.0])
    np.testing.assert_allclose(v[:, PARAM_INDEX["jawOpen"]], [0.1, 0.3, 0.0])
