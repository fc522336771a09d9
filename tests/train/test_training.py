"""Tiny end-to-end training: teacher, distillation, resume, ONNX export, int8, the driver."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from avatar_agent.errors import ModelNotFoundError  # noqa: E402
from avatar_agent.generator.conditions import N_EXPRESSIONS  # noqa: E402
from avatar_agent.generator.driver import drive_track, make_driver  # noqa: E402
from avatar_agent.generator.learned import LearnedMotionDriver  # noqa: E402
from avatar_agent.motion import PARAM_INDEX, PARAMS  # noqa: E402
from avatar_agent.train.config import CONFIGS  # noqa: E402
from avatar_agent.train.export import (  # noqa: E402
    INPUT_NAMES,
    OneStep,
    _example,
    export_onnx,
    parity,
    quantize_int8,
)
from avatar_agent.train.loops import distill_student, train_teacher  # noqa: E402
from avatar_agent.train.windows import Clip, WindowSampler, clip_stats  # noqa: E402


def _clips(n: int = 4, frames: int = 50) -> list[Clip]:
    """Clips whose jaw follows the audio energy (so there is something to learn)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        energy = (rng.random(frames) > 0.5).astype(np.float32)
        mel = np.repeat(energy, 4)[:, None] * 8.0 - 12.0 + rng.normal(0, 0.3, (4 * frames, 80))
        motion = np.zeros((frames, len(PARAMS)), np.float32)
        motion[:, PARAM_INDEX["jawOpen"]] = 0.5 * energy
        out.append(
            Clip(
                mel.astype(np.float16),
                motion,
                rng.integers(0, 4, frames).astype(np.int8),
                np.zeros((frames, N_EXPRESSIONS), np.float16),
            )
        )
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    cfg = dataclasses.replace(CONFIGS["tiny"])
    clips = _clips()
    run = tmp_path_factory.mktemp("run")

    def sampler(seed: int = 0) -> WindowSampler:
        return WindowSampler(
            clips, context=cfg.context, chunk=cfg.chunk, lookahead=cfg.lookahead, seed=seed
        )

    teacher = train_teacher(cfg, sampler(), clip_stats(clips), run, progress=False)
    student = distill_student(cfg, teacher, sampler(1), run, progress=False)
    fp32 = export_onnx(student, cfg, sampler(2), run / "motion.onnx")
    int8 = quantize_int8(fp32, run / "motion.int8.onnx", cfg, sampler(3))
    return {
        "cfg": cfg,
        "run": run,
        "clips": clips,
        "sampler": sampler,
        "student": student,
        "fp32": fp32,
        "int8": int8,
    }


def test_checkpoints_and_model_folders(trained: dict) -> None:
    run: Path = trained["run"]
    for name in ("teacher.pt", "student.pt", "teacher", "student"):
        assert (run / name).exists(), name
    state = torch.load(run / "teacher.pt", weights_only=False)
    assert state["step"] == trained["cfg"].teacher_steps
    assert state["config"]["hidden"] == trained["cfg"].hidden  # config saved in the checkpoint
    assert len(state["losses"]) == trained["cfg"].teacher_steps


def test_sync_critic_learns_to_tell_sync_from_mismatch() -> None:
    from avatar_agent.train.critic import SyncCritic, critic_loss

    torch.manual_seed(0)
    clips = _clips(8, 60)
    sampler = WindowSampler(clips, context=4, chunk=8, lookahead=2, seed=0)
    mm, ms, om, os_ = (torch.from_numpy(np.asarray(a, np.float32)) for a in clip_stats(clips))
    critic = SyncCritic()
    opt = torch.optim.Adam(critic.parameters(), lr=2e-3)

    def batch() -> tuple[torch.Tensor, ...]:
        b = sampler.sample(32)
        real = (torch.from_numpy(b.motion) - om) / os_
        mel = (torch.from_numpy(b.mel).float() - mm) / ms
        mask = torch.from_numpy(b.role[..., 1]).float()
        return real, mel, mask

    for _ in range(150):
        real, mel, mask = batch()
        fake = real + 0.5 * torch.randn_like(real)
        loss = critic_loss(critic, real, fake, mel, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    real, mel, mask = batch()
    with torch.no_grad():
        d_sync = (critic(real, mel) * mask).sum() / mask.sum()
        d_mis = (critic(real, mel.roll(1, 0)) * mask).sum() / mask.sum()
    assert float(d_sync - d_mis) > 0.5  # it scores sync, not only realism


def test_distillation_with_critic_checkpoints_it(trained: dict, tmp_path: Path) -> None:
    cfg = dataclasses.replace(trained["cfg"], adv_weight=0.1, distill_steps=12)
    teacher = trained["student"]  # any trained denoiser will do as the frozen teacher
    distill_student(cfg, teacher, trained["sampler"](1), tmp_path, save_every=6, progress=False)
    state = torch.load(tmp_path / "student.pt", weights_only=False)
    assert state["step"] == 12 and len(state["critic_history"]) == 12
    assert set(state["critic"]) and np.isfinite(np.array(state["critic_history"])).all()


def test_contact_weight_acts_only_on_frames_with_lips_at_contact(
    trained: dict, tmp_path: Path
) -> None:
    from avatar_agent.train.diffusion import contact_mask

    teacher = trained["student"]  # any trained denoiser will do as the frozen teacher
    raw = torch.zeros(1, 3, len(PARAMS))
    raw[0, 0, PARAM_INDEX["jawOpen"]] = raw[0, 0, PARAM_INDEX["mouthClose"]] = 0.3  # contact
    raw[0, 1, PARAM_INDEX["jawOpen"]] = 0.4  # open
    raw[0, 2, PARAM_INDEX["mouthClose"]] = 0.02  # at rest: not pressed together
    mask = contact_mask(raw)
    assert mask.tolist() == [[1.0, 0.0, 0.0]]

    def distil(clips: list[Clip], weight: float, name: str) -> list[torch.Tensor]:
        cfg = dataclasses.replace(trained["cfg"], cd_contact_weight=weight, distill_steps=4)
        sampler = WindowSampler(clips, context=cfg.context, chunk=cfg.chunk,
                                lookahead=cfg.lookahead, seed=1)  # fmt: skip
        student = distill_student(cfg, teacher, sampler, tmp_path / name, progress=False)
        return [p.detach().clone() for p in student.parameters()]

    plain = trained["clips"]  # no frame shows the lips at contact: the weight changes nothing
    for a, b in zip(distil(plain, 1.0, "p1"), distil(plain, 5.0, "p5"), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    closing = [dataclasses.replace(c, motion=c.motion.copy()) for c in plain]
    for c in closing:  # lips pressed shut wherever the jaw is closed
        shut = c.motion[:, PARAM_INDEX["jawOpen"]] == 0
        c.motion[shut, PARAM_INDEX["jawOpen"]] = c.motion[shut, PARAM_INDEX["mouthClose"]] = 0.2
    one, five = distil(closing, 1.0, "c1"), distil(closing, 5.0, "c5")
    assert any(not torch.equal(a, b) for a, b in zip(one, five, strict=True))


def test_teacher_resumes_from_checkpoint(trained: dict, tmp_path: Path) -> None:
    cfg = trained["cfg"]
    clips = trained["clips"]
    stats = clip_stats(clips)
    short = dataclasses.replace(cfg, teacher_steps=3)
    train_teacher(short, trained["sampler"](), stats, tmp_path, progress=False)
    assert torch.load(tmp_path / "teacher.pt", weights_only=False)["step"] == 3
    train_teacher(cfg, trained["sampler"](), stats, tmp_path, progress=False)
    state = torch.load(tmp_path / "teacher.pt", weights_only=False)
    assert state["step"] == cfg.teacher_steps
    assert len(state["losses"]) == cfg.teacher_steps  # continued, not restarted


def test_fine_tuning_starts_from_the_earlier_runs_models(trained: dict, tmp_path: Path) -> None:
    from avatar_agent.train.loops import load_model

    base: Path = trained["run"]
    stats = clip_stats(trained["clips"])
    # learning rate 0: the fine-tuned models must be exactly where they started
    still = dataclasses.replace(
        trained["cfg"], init_from=str(base), teacher_steps=2, distill_steps=2,
        teacher_lr=0.0, distill_lr=0.0,
    )  # fmt: skip
    teacher = train_teacher(still, trained["sampler"](), stats, tmp_path, progress=False)
    student = distill_student(still, teacher, trained["sampler"](1), tmp_path, progress=False)
    for got, which in ((teacher, "teacher"), (student, "student")):
        want = load_model(base / which).state_dict()
        for k, v in got.state_dict().items():
            assert torch.equal(v, want[k]), (which, k)
    # the student starts from the earlier student, not from the (different) teacher
    t0, s0 = load_model(base / "teacher").state_dict(), load_model(base / "student").state_dict()
    assert any(not torch.equal(t0[k], s0[k]) for k in t0)
    wider = dataclasses.replace(still, hidden=still.hidden * 2)
    with pytest.raises(ValueError, match="another shape"):
        train_teacher(wider, trained["sampler"](), stats, tmp_path / "wider", progress=False)
    with pytest.raises(FileNotFoundError, match="no teacher/"):
        missing = dataclasses.replace(still, init_from=str(tmp_path / "nowhere"))
        train_teacher(missing, trained["sampler"](), stats, tmp_path / "missing", progress=False)


def test_mouth_probe_reads_the_jaw_from_audio_on_speaking_frames_only() -> None:
    from avatar_agent.generator.conditions import STATE_INDEX
    from avatar_agent.train.model import MotionDenoiser
    from avatar_agent.train.probe import ARTICULATION, MouthProbe, probe_loss

    torch.manual_seed(0)
    clips = _clips(8, 60)
    sampler = WindowSampler(clips, context=4, chunk=8, lookahead=2, seed=0)
    model = MotionDenoiser(hidden=32, audio_hidden=24, dilations=(1,), audio_layers=2)
    model.set_normalization(*(torch.from_numpy(np.asarray(a)) for a in clip_stats(clips)))
    probe = MouthProbe(24)
    opt = torch.optim.Adam([*model.parameters(), *probe.parameters()], lr=3e-3)
    for _ in range(150):
        b = sampler.sample(32)
        x0 = model.normalize_motion(torch.from_numpy(b.motion))
        loss = probe_loss(probe, model.encode_audio(model.normalize_mel(torch.from_numpy(b.mel))),
                          x0, torch.from_numpy(b.state))  # fmt: skip
        opt.zero_grad()
        loss.backward()
        opt.step()
    b = sampler.sample(64)
    with torch.no_grad():
        audio = model.encode_audio(model.normalize_mel(torch.from_numpy(b.mel)))
        pred = model.denormalize_motion(
            torch.zeros(64, b.motion.shape[1], len(PARAMS)).index_copy(
                2, torch.tensor([PARAM_INDEX[p] for p in ARTICULATION]), probe(audio)
            )
        )[..., PARAM_INDEX["jawOpen"]].numpy()
    speaking = b.state[..., STATE_INDEX["speaking"]] > 0
    truth = b.motion[..., PARAM_INDEX["jawOpen"]]
    assert np.corrcoef(pred[speaking], truth[speaking])[0, 1] > 0.9  # learnt from the audio
    # frames in other states do not count: changing their targets leaves the loss unchanged
    x0 = model.normalize_motion(torch.from_numpy(b.motion))
    state = torch.from_numpy(b.state)
    other = x0.clone()
    other[~torch.from_numpy(speaking)] += 5.0
    with torch.no_grad():
        assert float(probe_loss(probe, audio, x0, state)) == pytest.approx(
            float(probe_loss(probe, audio, other, state)), rel=1e-6
        )


def test_teacher_with_probe_and_audio_layers_resumes_and_exports(
    trained: dict, tmp_path: Path
) -> None:
    import onnxruntime as ort

    from avatar_agent.train.loops import load_model

    cfg = dataclasses.replace(trained["cfg"], aux_weight=0.5, audio_layers=2)
    stats = clip_stats(trained["clips"])
    short = dataclasses.replace(cfg, teacher_steps=3)
    train_teacher(short, trained["sampler"](), stats, tmp_path, progress=False)
    teacher = train_teacher(cfg, trained["sampler"](), stats, tmp_path, progress=False)
    state = torch.load(tmp_path / "teacher.pt", weights_only=False)
    assert state["step"] == cfg.teacher_steps
    assert len(state["probe_losses"]) == cfg.teacher_steps  # the probe resumed too
    assert np.isfinite(state["probe_losses"]).all() and set(state["probe"])
    # the probe is a training aid: the saved denoiser and its ONNX graph do not contain it
    saved = load_model(tmp_path / "teacher")
    assert saved.config.audio_layers == 2 and len(saved.audio_ctx) == 2
    assert not any("probe" in k for k in saved.state_dict())
    onnx_path = export_onnx(teacher, cfg, trained["sampler"](2), tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ex = _example(cfg, trained["sampler"](5), 3)
    with torch.no_grad():
        yt = (
            OneStep(saved, cfg.lookahead)
            .eval()(*(torch.from_numpy(ex[k]) for k in INPUT_NAMES))
            .numpy()
        )
    np.testing.assert_allclose(sess.run(None, ex)[0], yt, atol=1e-4)


def test_onnx_matches_torch(trained: dict) -> None:
    import onnxruntime as ort

    cfg = trained["cfg"]
    sess = ort.InferenceSession(str(trained["fp32"]), providers=["CPUExecutionProvider"])
    wrapper = OneStep(trained["student"], cfg.lookahead).eval()
    for n in (1, 3, cfg.chunk):
        ex = _example(cfg, trained["sampler"](5), n)
        y = sess.run(None, ex)[0]
        with torch.no_grad():
            yt = wrapper(*(torch.from_numpy(ex[k]) for k in INPUT_NAMES)).numpy()
        assert y.shape == (1, n, len(PARAMS))
        np.testing.assert_allclose(y, yt, atol=1e-4)


def test_int8_parity_and_size(trained: dict) -> None:
    par = parity(trained["fp32"], trained["int8"], trained["cfg"], trained["sampler"](6), n=16)
    assert np.isfinite(par["max_abs"])
    assert par["open_mean_abs"] < 0.05  # lip opening in 0..1 units
    assert trained["int8"].stat().st_size < trained["fp32"].stat().st_size


@pytest.mark.parametrize("fps", [20.0, 25.0, 30.0, 60.0])
def test_learned_driver_streams_any_fps(trained: dict, fps: float) -> None:
    drv = LearnedMotionDriver.load(trained["int8"], fps=fps, seed=3)
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)
    a = drive_track(drv, audio, chunk=5).values
    b = drive_track(drv, audio, chunk=5).values  # drive_track resets: same seed, same output
    assert a.shape == (round(3 * fps), len(PARAMS))
    np.testing.assert_array_equal(a, b)
    n_blend = PARAM_INDEX["headYaw"]
    assert np.isfinite(a).all()
    assert a[:, :n_blend].min() >= 0.0 and a[:, :n_blend].max() <= 1.0
    # shown lips stop at contact, whatever the tiny model aims for
    assert (a[:, PARAM_INDEX["mouthClose"]] <= a[:, PARAM_INDEX["jawOpen"]]).all()


def test_driver_memory_is_bounded(trained: dict) -> None:
    drv = LearnedMotionDriver.load(trained["int8"], fps=25.0)
    chunk = np.zeros(640 * 8, np.float32)
    for _ in range(2000):  # 640 s of streamed audio
        drv.generate(chunk, 8, lookahead16k=chunk[:1280], state="idle")
    assert len(drv._audio) < 16000 and len(drv._frames) < 64


def test_driver_rejects_bad_arguments(trained: dict) -> None:
    drv = LearnedMotionDriver.load(trained["int8"])
    with pytest.raises(ValueError, match="n_frames"):
        drv.generate(np.zeros(640, np.float32), 0)
    with pytest.raises(ValueError, match="unknown state"):
        drv.generate(np.zeros(640, np.float32), 1, state="dancing")
    out = drv.generate(np.full(640, np.nan, np.float32), 1)  # bad samples: cleaned, not fatal
    assert np.isfinite(out).all()


def test_make_driver_finds_model(
    trained: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert isinstance(make_driver("learned", model=trained["int8"]), LearnedMotionDriver)
    monkeypatch.setenv("AVATAR_AGENT_MOTION_MODEL", str(trained["int8"]))
    assert isinstance(make_driver("auto"), LearnedMotionDriver)
    missing = tmp_path / "nope.onnx"
    monkeypatch.setenv("AVATAR_AGENT_MOTION_MODEL", str(missing))
    with pytest.raises(ModelNotFoundError, match="AVATAR_AGENT_MOTION_MODEL"):
        make_driver("learned", model=missing)
