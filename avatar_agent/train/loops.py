"""Teacher training and consistency distillation loops, with checkpoints and resume.

Both loops save ``<run>/<name>.pt`` (weights, optimiser, step, loss history, the training
config) every ``save_every`` steps and at the end, resume from it when it exists, and write
the final network as a diffusers model folder ``<run>/<name>/`` (``save_pretrained``).
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMScheduler
from tqdm import tqdm

from avatar_agent.train.config import TrainConfig
from avatar_agent.train.diffusion import (
    T_TRAIN,
    TorchBatch,
    compose,
    contact_mask,
    denoise_loss,
    guided_x0,
    make_schedulers,
    student_x0,
)
from avatar_agent.train.model import MotionDenoiser
from avatar_agent.train.probe import MouthProbe, probe_loss
from avatar_agent.train.windows import Batch, WindowSampler

__all__ = ["new_model", "train_teacher", "distill_student", "load_model", "denoise_step"]

log = logging.getLogger(__name__)


def new_model(cfg: TrainConfig, stats: tuple[np.ndarray, ...]) -> MotionDenoiser:
    """A freshly initialised denoiser with the data's normalisation statistics."""
    torch.manual_seed(cfg.seed)
    model = MotionDenoiser(
        hidden=cfg.hidden,
        audio_hidden=cfg.audio_hidden,
        dilations=tuple(cfg.dilations),
        audio_layers=cfg.audio_layers,
    )
    model.set_normalization(*(torch.from_numpy(np.asarray(s)) for s in stats))
    return model


def load_model(folder: Path) -> MotionDenoiser:
    """Load a saved denoiser folder (``save_pretrained`` output) for inference."""
    model = MotionDenoiser.from_pretrained(str(folder), low_cpu_mem_usage=False)
    model.eval()
    return model


def _init_weights(model: MotionDenoiser, cfg: TrainConfig, which: str) -> None:
    """Start ``model`` from ``cfg.init_from``'s ``which`` model folder (fine-tuning)."""
    folder = Path(str(cfg.init_from)) / which
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"init_from={cfg.init_from!r} has no {which}/ model folder")
    base = load_model(folder)
    try:
        model.load_state_dict(base.state_dict())
    except RuntimeError as e:
        raise ValueError(
            f"init_from={cfg.init_from!r}: its {which} has another shape than this config's "
            f"(hidden, audio_hidden, dilations, audio_layers must match): {e}"
        ) from e
    log.info("initialised the %s from %s", which, folder)


def _lr(step: int, total: int, base: float, warmup: int = 100) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return base * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(p, 1.0))))


def _perturb_context(tb: TorchBatch, gen: torch.Generator) -> torch.Tensor:
    """Context motion with small noise on half the windows (robust to its own drift)."""
    noise = torch.randn(tb.x0.shape, generator=gen) * 0.1
    on = (torch.rand(tb.x0.shape[0], generator=gen) < 0.5).float().view(-1, 1, 1)
    return tb.x0 + noise * on


def _save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def train_teacher(
    cfg: TrainConfig,
    sampler: WindowSampler,
    stats: tuple[np.ndarray, ...],
    run: Path,
    *,
    save_every: int = 500,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    speech_sampler: WindowSampler | None = None,
) -> MotionDenoiser:
    """Train the conditional diffusion teacher.

    With ``cfg.aux_weight > 0`` the loss adds the mouth probe's error
    (:mod:`~avatar_agent.train.probe`); with ``cfg.whisper_weight > 0`` the Whisper head's
    (:mod:`~avatar_agent.train.whisper`; the sampler's clips need their features; a fine-tune
    starts from ``init_from``'s head). Both heads are saved in the checkpoint only. With
    ``cfg.whisper_pretrain_steps > 0`` (and no ``init_from``) the audio encoder first learns
    the Whisper term alone (:func:`pretrain_encoder`). With a ``speech_sampler`` (untranscribed
    natural speech, ``cfg.whisper_speech_copies``) every step adds the Whisper term of
    ``cfg.whisper_speech_batch`` of its windows, which reach only the audio encoder and the
    head, never the denoiser's motion loss.

    Args:
        cfg: Training config (``teacher_steps``, ``teacher_lr``, ``batch``, ``p_uncond``…).
        sampler: Window sampler over the training clips.
        stats: Normalisation statistics (see :func:`~avatar_agent.train.windows.clip_stats`).
        run: Run folder (checkpoint ``teacher.pt``, model folder ``teacher/``).
        save_every: Checkpoint period in steps.
        progress: Show a progress bar.
        on_step: Called with ``(step, loss)`` after each step.
        speech_sampler: Window sampler over speech clips with Whisper features only (needs
            ``cfg.whisper_weight > 0``); None: none.

    Returns:
        The trained teacher (eval mode).

    Raises:
        ValueError: A speech sampler without the Whisper term.
    """
    if speech_sampler is not None and cfg.whisper_weight <= 0:
        raise ValueError("a speech sampler feeds the Whisper term: needs whisper_weight > 0")
    torch.set_num_threads(cfg.threads)
    run.mkdir(parents=True, exist_ok=True)
    ckpt = run / "teacher.pt"
    model = new_model(cfg, stats)
    probe = MouthProbe(cfg.audio_hidden) if cfg.aux_weight > 0 else None
    whisper = _WhisperTerm(cfg, sampler) if cfg.uses_whisper else None
    params = (
        list(model.parameters())
        + (list(probe.parameters()) if probe else [])
        + (list(whisper.head.parameters()) if whisper else [])
    )
    opt = torch.optim.AdamW(params, lr=cfg.teacher_lr, weight_decay=1e-4)
    step, losses = 0, []
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    aux_losses: list[float] = []
    speech_losses: list[float] = []
    if cfg.init_from and not ckpt.exists():
        _init_weights(model, cfg, "teacher")
        base_ckpt = Path(str(cfg.init_from)) / "teacher.pt"
        if whisper is not None and base_ckpt.exists():  # fine-tune the trained head too
            whisper.load(torch.load(base_ckpt, weights_only=False), history=False)
    if whisper is not None and cfg.whisper_pretrain_steps > 0 and not cfg.init_from:
        pretrain_encoder(cfg, model, whisper, sampler, run, progress=progress)
        if not ckpt.exists():
            whisper.history = []  # the teacher's own Whisper losses start here
    if ckpt.exists():
        step, losses = _resume(ckpt, model, opt, gen, sampler)
        saved = torch.load(ckpt, weights_only=False) if probe or whisper else {}
        if speech_sampler is not None and "speech_sampler" not in saved:
            raise ValueError(f"{ckpt} was trained without the speech clips; use a new run")
        if probe is not None:
            probe.load_state_dict(saved["probe"])
            aux_losses = list(saved["probe_losses"])
        if whisper is not None:
            whisper.load(saved)
        if speech_sampler is not None:
            speech_sampler.rng.bit_generator.state = saved["speech_sampler"]
            speech_losses = list(saved["whisper_speech_losses"])
        log.info("resumed teacher at step %d", step)
    ddpm, _, _ = make_schedulers()
    model.train()
    bar = tqdm(total=cfg.teacher_steps, initial=step, desc="teacher", disable=not progress)
    while step < cfg.teacher_steps:
        for g in opt.param_groups:
            g["lr"] = _lr(step, cfg.teacher_steps, cfg.teacher_lr)
        batch = sampler.sample(cfg.batch)
        loss, audio, tb = denoise_step(model, batch, cfg, gen, ddpm)
        if probe is not None:
            aux = probe_loss(probe, audio, tb.x0, tb.state)
            aux_losses.append(aux.item())
            loss = loss + cfg.aux_weight * aux
        if whisper is not None and cfg.whisper_weight > 0:
            loss = loss + cfg.whisper_weight * whisper.loss(audio, batch)
        if speech_sampler is not None and whisper is not None:
            sb = speech_sampler.sample(cfg.whisper_speech_batch)
            s_audio = model.encode_audio(TorchBatch(model, sb).mel)
            loss = loss + cfg.whisper_weight * whisper.loss(s_audio, sb, history=speech_losses)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if on_step:
            on_step(step, float(loss))
        if step % save_every == 0 or step == cfg.teacher_steps:
            state = _state(model, opt, step, losses, gen, sampler, cfg)
            if probe is not None:
                state["probe"] = probe.state_dict()
                state["probe_losses"] = aux_losses
            if whisper is not None:
                state.update(whisper.state())
            if speech_sampler is not None:
                state["speech_sampler"] = speech_sampler.rng.bit_generator.state
                state["whisper_speech_losses"] = speech_losses
            _save(ckpt, state)
    bar.close()
    model.eval()
    model.save_pretrained(str(run / "teacher"))
    return model


def denoise_step(
    model: MotionDenoiser,
    batch: Batch,
    cfg: TrainConfig,
    gen: torch.Generator,
    ddpm: DDPMScheduler,
) -> tuple[torch.Tensor, torch.Tensor, TorchBatch]:
    """The teacher's denoising loss on one batch (random timesteps, guidance dropout).

    Args:
        model: The denoiser being trained.
        batch: Training windows.
        cfg: Training config (``p_uncond``).
        gen: The teacher's random generator (timesteps, noise, dropout, context noise).
        ddpm: The training noise schedule.

    Returns:
        ``(loss, audio features, torch batch)``; the features feed the auxiliary terms.
    """
    tb = TorchBatch(model, batch)
    n = tb.x0.shape[0]
    t = torch.randint(0, T_TRAIN, (n,), generator=gen)
    noise = torch.randn(tb.x0.shape, generator=gen)
    xt = ddpm.add_noise(tb.x0, noise, t)
    keep = (torch.rand(n, generator=gen) >= cfg.p_uncond).float()
    ctx = _perturb_context(tb, gen)
    audio = model.encode_audio(tb.mel)
    pred = model(compose(tb, xt, ctx), t, tb.role, tb.mel, tb.state, tb.expression, keep, audio)
    return denoise_loss(model, tb, pred, tb.x0), audio, tb


def pretrain_encoder(
    cfg: TrainConfig,
    model: MotionDenoiser,
    whisper: _WhisperTerm,
    sampler: WindowSampler,
    run: Path,
    *,
    save_every: int = 500,
    progress: bool = True,
) -> None:
    """Train the audio encoder on the Whisper term alone before the teacher starts.

    Only the audio encoder (:meth:`MotionDenoiser.audio_encoder_parameters`) and the Whisper
    head learn, for ``cfg.whisper_pretrain_steps`` steps of ``cfg.batch`` windows at the
    teacher's learning rate (warm-up, cosine decay). Inside the teacher the term is still
    falling after 12,000 steps, shared with denoising; alone it is cheaper (no backbone) and
    gets the whole step. Checkpoint ``<run>/encoder.pt`` (same layout as the teacher's, with
    the head); a finished one is loaded instead of trained again, so a resumed teacher sees
    the same encoder and window draws.

    Args:
        cfg: Training config (``whisper_pretrain_steps``, ``batch``, ``teacher_lr``).
        model: The fresh teacher, whose audio encoder is trained in place.
        whisper: The Whisper term (head and feature statistics), trained in place.
        sampler: Window sampler over the training clips (advanced by the draws).
        run: Run folder.
        save_every: Checkpoint period in steps.
        progress: Show a progress bar.
    """
    run.mkdir(parents=True, exist_ok=True)
    ckpt, total = run / "encoder.pt", cfg.whisper_pretrain_steps
    params = list(model.audio_encoder_parameters()) + list(whisper.head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.teacher_lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(cfg.seed + 5)  # unused; kept for the checkpoint layout
    step, losses = 0, []
    if ckpt.exists():
        step, losses = _resume(ckpt, model, opt, gen, sampler)
        whisper.load(torch.load(ckpt, weights_only=False), history=False)
    bar = tqdm(total=total, initial=step, desc="encoder", disable=not progress or step >= total)
    model.train()
    while step < total:
        for g in opt.param_groups:
            g["lr"] = _lr(step, total, cfg.teacher_lr)
        batch = sampler.sample(cfg.batch)
        loss = whisper.loss(model.encode_audio(TorchBatch(model, batch).mel), batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if step % save_every == 0 or step == total:
            state = _state(model, opt, step, losses, gen, sampler, cfg)
            state["whisper_head"] = whisper.head.state_dict()
            _save(ckpt, state)
    bar.close()


class _WhisperTerm:
    """The Whisper distillation head, the features' statistics and the loss history."""

    def __init__(self, cfg: TrainConfig, sampler: WindowSampler) -> None:
        from avatar_agent.train.whisper import WhisperHead

        if not sampler.has_whisper:
            raise ValueError(
                "whisper_weight or whisper_pretrain_steps > 0 but the training clips have no "
                "Whisper features"
            )
        torch.manual_seed(cfg.seed + 4)
        self.head = WhisperHead(cfg.audio_hidden)
        sample = np.concatenate([c.whisper[::7] for c in sampler.clips if c.whisper is not None])
        sample = sample.astype(np.float32)
        self.mean = torch.from_numpy(sample.mean(0))
        self.std = torch.from_numpy(np.maximum(sample.std(0), 1e-3))
        self.history: list[float] = []

    def loss(
        self, audio: torch.Tensor, batch: Batch, history: list[float] | None = None
    ) -> torch.Tensor:
        """Masked mean squared error of the head on normalised Whisper features.

        The value is appended to ``history`` (default: the training clips' history).
        """
        target = (torch.from_numpy(batch.whisper) - self.mean) / self.std
        mask = torch.from_numpy(batch.whisper_mask)[..., None]
        pred = self.head(audio)
        if float(mask.sum()) == 0.0:
            out = pred.sum() * 0.0
        else:
            out = (((pred - target) ** 2) * mask).sum() / (mask.sum() * pred.shape[-1])
        (self.history if history is None else history).append(out.item())
        return out

    def state(self) -> dict:
        """Checkpoint entries."""
        return {"whisper_head": self.head.state_dict(), "whisper_losses": self.history}

    def load(self, state: dict, *, history: bool = True) -> None:
        """Restore from a checkpoint written with :meth:`state` (``history``: its losses too)."""
        if "whisper_head" in state:
            self.head.load_state_dict(state["whisper_head"])
            if history:
                self.history = list(state["whisper_losses"])


def _state(
    model: MotionDenoiser,
    opt: torch.optim.Optimizer,
    step: int,
    losses: list[float],
    gen: torch.Generator,
    sampler: WindowSampler,
    cfg: TrainConfig,
) -> dict:
    """Everything a checkpoint holds (the inverse of :func:`_resume`)."""
    return {
        "model": model.state_dict(),
        "opt": opt.state_dict(),
        "step": step,
        "losses": losses,
        "gen": gen.get_state(),
        "sampler": sampler.rng.bit_generator.state,
        "config": cfg.to_dict(),
    }


def _resume(
    ckpt: Path,
    model: MotionDenoiser,
    opt: torch.optim.Optimizer,
    gen: torch.Generator,
    sampler: WindowSampler,
    target: MotionDenoiser | None = None,
) -> tuple[int, list[float]]:
    """Restore weights, optimiser, RNG states (and the EMA target); returns step and losses."""
    state = torch.load(ckpt, weights_only=False)
    model.load_state_dict(state["model"])
    if target is not None:
        target.load_state_dict(state["target"])
    opt.load_state_dict(state["opt"])
    gen.set_state(state["gen"])
    sampler.rng.bit_generator.state = state["sampler"]
    return state["step"], state["losses"]


class _Adversary:
    """The sync critic, its optimiser and its loss history (``adv_weight > 0``)."""

    def __init__(self, cfg: TrainConfig) -> None:
        from avatar_agent.train.critic import SyncCritic

        torch.manual_seed(cfg.seed + 3)
        self.cfg = cfg
        self.critic = SyncCritic()
        self.opt = torch.optim.Adam(self.critic.parameters(), lr=2e-4, betas=(0.5, 0.9))
        self.history: list[tuple[float, float]] = []

    def generator_term(
        self, tb: TorchBatch, pred: torch.Tensor, rows: torch.Tensor, step: int
    ) -> torch.Tensor:
        """One critic update, then the weighted generator loss of the one-step rows."""
        from avatar_agent.train.critic import critic_loss, generator_loss

        mask = tb.gen_mask[..., 0] * rows.float().view(-1, 1)
        real = compose(tb, tb.x0)
        fake = compose(tb, pred)
        loss_d = critic_loss(self.critic, real, fake, tb.mel, mask)
        self.opt.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt.step()
        loss_g = generator_loss(self.critic, fake, tb.mel, mask)
        self.history.append((loss_d.item(), loss_g.item()))
        # the critic learns alone for the first 10 % of the steps
        on = step >= self.cfg.distill_steps // 10
        return loss_g * (self.cfg.adv_weight if on else 0.0)

    def state(self) -> dict:
        """Checkpoint entries."""
        return {
            "critic": self.critic.state_dict(),
            "critic_opt": self.opt.state_dict(),
            "critic_history": self.history,
        }

    def load(self, state: dict) -> None:
        """Restore from a checkpoint written with :meth:`state` (a fresh critic otherwise)."""
        if "critic" not in state:
            return
        self.critic.load_state_dict(state["critic"])
        self.opt.load_state_dict(state["critic_opt"])
        self.history = list(state["critic_history"])


def distill_student(
    cfg: TrainConfig,
    teacher: MotionDenoiser,
    sampler: WindowSampler,
    run: Path,
    *,
    save_every: int = 500,
    progress: bool = True,
) -> MotionDenoiser:
    """Consistency distillation of the guided teacher into a one-step student.

    Latent-consistency-model recipe on motion windows: ``x_{t_n}`` is noised data, the
    guided teacher takes one DDIM step to ``t_{n-k}`` (``k = 1000 / ddim_steps``), and the
    student's consistency function at ``t_n`` is pulled to the EMA student's at ``t_{n-k}``
    (Huber loss); the teacher's guidance scale is baked in. An auxiliary term
    (``data_weight``) ties the student's output at the largest timestep to the data, since
    the student is only ever run there (one step from pure noise). ``cd_contact_weight``
    weighs the consistency loss on frames whose target shows the lips at contact. With
    ``adv_weight > 0`` a sync critic (:mod:`~avatar_agent.train.critic`) adds a hinge
    adversarial term on those one-step outputs.

    Args:
        cfg: Training config (``distill_steps``, ``distill_lr``, ``ddim_steps``, ``ema``…).
        teacher: Trained teacher (frozen).
        sampler: Window sampler over the training clips.
        run: Run folder (checkpoint ``student.pt``, model folder ``student/``).
        save_every: Checkpoint period in steps.
        progress: Show a progress bar.

    Returns:
        The one-step student (eval mode).
    """
    torch.set_num_threads(cfg.threads)
    run.mkdir(parents=True, exist_ok=True)
    ckpt = run / "student.pt"
    teacher.eval().requires_grad_(False)
    student = copy.deepcopy(teacher).train().requires_grad_(True)
    if cfg.init_from and not ckpt.exists():  # fine-tuning: from the earlier one-step student
        _init_weights(student, cfg, "student")
    target = copy.deepcopy(student).eval().requires_grad_(False)
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.distill_lr, weight_decay=0.0)
    step, losses = 0, []
    gen = torch.Generator().manual_seed(cfg.seed + 2)
    adv = _Adversary(cfg) if cfg.adv_weight > 0 else None
    if ckpt.exists():
        step, losses = _resume(ckpt, student, opt, gen, sampler, target=target)
        if adv is not None:
            adv.load(torch.load(ckpt, weights_only=False))
        log.info("resumed distillation at step %d", step)
    ddpm, ddim, lcm = make_schedulers()
    skip = T_TRAIN // cfg.ddim_steps
    grid = torch.arange(skip - 1, T_TRAIN, skip)  # 19, 39, ..., 999
    abar = ddpm.alphas_cumprod
    bar = tqdm(total=cfg.distill_steps, initial=step, desc="distill", disable=not progress)
    while step < cfg.distill_steps:
        for g in opt.param_groups:
            g["lr"] = _lr(step, cfg.distill_steps, cfg.distill_lr, warmup=50)
        tb = TorchBatch(student, sampler.sample(cfg.batch))
        n = tb.x0.shape[0]
        tn = grid[torch.randint(0, len(grid), (n,), generator=gen)]
        # a quarter of the batch at the largest timestep: the one step we ship
        top = torch.rand(n, generator=gen) < 0.25
        tn = torch.where(top, torch.full_like(tn, grid[-1]), tn)
        tp = (tn - skip).clamp(min=0)
        noise = torch.randn(tb.x0.shape, generator=gen)
        x_tn = ddpm.add_noise(tb.x0, noise, tn)
        ctx = _perturb_context(tb, gen)
        with torch.no_grad():
            x0_t = guided_x0(teacher, tb, x_tn, tn, cfg.guidance, ctx)
            a_n = abar[tn].view(-1, 1, 1)
            a_p = abar[tp].view(-1, 1, 1)
            eps = (x_tn - a_n.sqrt() * x0_t) / (1 - a_n).sqrt()
            x_tp = a_p.sqrt() * x0_t + (1 - a_p).sqrt() * eps
            y = student_x0(target, lcm, tb, x_tp, tp, ctx)
            y = torch.where((tn < skip).view(-1, 1, 1), x0_t, y)
        pred = student_x0(student, lcm, tb, x_tn, tn, ctx)
        m = tb.gen_mask
        if cfg.cd_contact_weight != 1.0:  # frames that show lips at contact count more
            contact = contact_mask(student.denormalize_motion(tb.x0))[..., None]
            m = m * (1.0 + (cfg.cd_contact_weight - 1.0) * contact)
        huber = torch.sqrt((pred - y) ** 2 + 1e-3**2) - 1e-3
        loss_cd = (huber * m).sum() / (m.sum() * pred.shape[-1])
        loss_data = denoise_loss(student, tb, pred, tb.x0, rows=top.float())
        loss = loss_cd + cfg.data_weight * loss_data
        if adv is not None:
            loss = loss + adv.generator_term(tb, pred, top, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for p_t, p_s in zip(target.parameters(), student.parameters(), strict=True):
                p_t.mul_(cfg.ema).add_(p_s, alpha=1 - cfg.ema)
        step += 1
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if step % save_every == 0 or step == cfg.distill_steps:
            state = _state(student, opt, step, losses, gen, sampler, cfg)
            state["target"] = target.state_dict()
            if adv is not None:
                state.update(adv.state())
            _save(ckpt, state)
    bar.close()
    student.eval()
    student.save_pretrained(str(run / "student"))
    return student
