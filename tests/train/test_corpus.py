"""Speech corpus: engines, phone mapping, augmentation, manifest, splits, alignment."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from avatar_agent.audio import resample
from avatar_agent.train.corpus import align, augment, espeak, festival, flite, human, piper
from avatar_agent.train.corpus.build import SMALL, build_corpus, load_corpus, read_manifest
from avatar_agent.train.phones import ARPABET, BILABIAL, PHONE_SET, SILENCE, Phone, check_phones

needs_espeak = pytest.mark.skipif(
    not espeak.available(), reason="libespeak-ng not installed (apt-get install libespeak-ng1)"
)
needs_ps = pytest.mark.skipif(
    not align.available(), reason="pocketsphinx not installed (pip install '.[train]')"
)

SENTENCES = [
    "Bob made five pumpkins, and the boy knew that our fire was near. Okay?",
    "Measure the huge pleasure of rhythm; judge the church's thin ship with a bottle of water.",
    "Could you confirm your account number, please? It's 4 0 7, Thursday June 3rd.",
    "Mm-hm, I see. Sure! The girl heard a bird in the world, and it was sure, poor and pure.",
]


@needs_espeak
def test_espeak_audio_matches_phones_and_has_bilabials():
    x, rate, phones = espeak.synth(SENTENCES[0], espeak.EspeakVoice("en-us", "m1", rate=160))
    check_phones(phones)
    assert rate == 22050 and x.dtype == np.float32 and np.isfinite(x).all()
    assert abs(phones[-1].end - x.size / rate) < 1.0 / rate
    assert phones[0].start == 0.0 and all(p.symbol in PHONE_SET for p in phones)
    syms = {p.symbol for p in phones}
    assert BILABIAL <= syms and {"F", "V"} <= syms


@needs_espeak
def test_espeak_table_covers_english_voices():
    synth = espeak.Espeak()
    unknown: dict[str, str] = {}
    for base in espeak.BASE_VOICES:
        for text in SENTENCES:
            _, _, events = synth.phoneme_events(text, espeak.EspeakVoice(base))
            for name, _ in events:
                if name not in espeak.ESPEAK_TO_ARPABET:
                    unknown[name] = base
    assert not unknown, f"espeak phonemes without a table entry: {unknown}"
    for syms in espeak.ESPEAK_TO_ARPABET.values():
        assert all(s in PHONE_SET for s in syms)


def test_other_tables_use_the_phone_set():
    for table in (festival.FESTIVAL_TO_ARPABET, piper.IPA_TO_ARPABET):
        for syms in table.values():
            assert syms and all(s in PHONE_SET for s in syms)
    assert set(ARPABET) <= {s for v in festival.FESTIVAL_TO_ARPABET.values() for s in v}


def test_piper_alignment_merges_stress_and_spaces():
    al = [
        ("^", 256),
        ("h", 512),
        ("ˈ", 256),
        ("a", 512),
        ("ɪ", 512),
        (",", 256),
        (" ", 256),
        ("t", 256),
        ("ʃ", 256),
        ("ˌ", 256),
        ("i", 256),
        ("ː", 256),
        ("$", 256),
    ]
    n = sum(k for _, k in al)
    phones = piper.ipa_to_phones(al, 16000, n)
    assert [p.symbol for p in phones] == ["sil", "HH", "AY", "sil", "CH", "IY", "sil"]
    ay = phones[2]
    assert ay.start == pytest.approx((256 + 512) / 16000)  # stress mark went to AY
    assert phones[-1].end == pytest.approx(n / 16000)


def _tone_with_phones(seconds: float = 2.0) -> tuple[np.ndarray, list[Phone]]:
    t = np.arange(int(16000 * seconds)) / 16000
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * (t % 0.5 < 0.3)).astype(np.float32)
    bounds = np.linspace(0, seconds, 9)
    phones = [
        Phone(s, float(a), float(b))
        for s, a, b in zip(
            ["sil", "P", "AA", "M", "sil", "F", "UW", "sil"], bounds[:-1], bounds[1:], strict=True
        )
    ]
    return x, phones


def test_speed_scales_phone_times():
    x, phones = _tone_with_phones()
    y, out = augment.speed(x, phones, 0.85)
    assert abs(y.size - x.size / 0.85) <= 1
    for p, q in zip(phones, out, strict=True):
        assert q.symbol == p.symbol
        assert abs(q.start - p.start / 0.85) <= 1.0 / 16000
    assert abs(out[-1].end - y.size / 16000) <= 1.0 / 16000


def test_augment_keeps_times_consistent_and_finite():
    x, phones = _tone_with_phones()
    rng = np.random.default_rng(0)
    for _ in range(6):
        y, out = augment.augment(x, phones, rng, strength=1.0)
        check_phones(out)
        assert y.dtype == np.float32 and np.isfinite(y).all() and np.abs(y).max() <= 1.0
        assert abs(out[-1].end - y.size / 16000) <= 1.0 / 16000
    y, out = augment.augment(x, phones, np.random.default_rng(1), strength=0.0)
    assert np.array_equal(y, x) and out == phones
    a = augment.augment(x, phones, np.random.default_rng(7))
    b = augment.augment(x, phones, np.random.default_rng(7))
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]


def test_effects_keep_length():
    x, _ = _tone_with_phones(1.0)
    rng = np.random.default_rng(0)
    for y in (
        augment.pitch_shift(x, 2.0),
        augment.telephone(x),
        augment.reverb(x, rng, 0.5),
        augment.resample_through(x, 8000),
        augment.add_noise(x, rng, 10, "babble"),
        augment.equalize(x, rng),
    ):
        assert y.shape == x.shape and np.isfinite(y).all()


def test_equalize_colours_the_spectrum_and_keeps_loudness():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16000).astype(np.float32) * 0.1
    y = augment.equalize(x, np.random.default_rng(4))
    assert abs(np.sqrt(np.mean(y * y)) - np.sqrt(np.mean(x * x))) < 1e-4
    f = np.fft.rfftfreq(x.size, 1 / 16000)
    gain_db = 20 * np.log10(np.abs(np.fft.rfft(y)) / np.abs(np.fft.rfft(x)))
    bands = [gain_db[(f > lo) & (f < lo * 2)].mean() for lo in (200, 800, 3000)]
    assert max(bands) - min(bands) > 3.0  # a real colouring, not a no-op
    assert np.allclose(augment.equalize(x, np.random.default_rng(4), 0.0), x, atol=1e-6)


@needs_espeak
def test_small_corpus_round_trip_and_held_out_voices(tmp_path):
    def build():
        return build_corpus(
            tmp_path,
            n_train=8,
            n_eval=6,
            seed=3,
            jobs=1,
            engines=("espeak",),
            config=SMALL,
            progress=False,
        )

    manifest = build()
    recs = read_manifest(tmp_path)
    assert len(recs) == 14 and manifest.name == "manifest.jsonl"
    utts = load_corpus(tmp_path)
    assert [u.id for u in utts] == [r["id"] for r in recs]
    for u, r in zip(utts, recs, strict=True):
        assert u.samples16k.dtype == np.float32
        assert abs(u.phones[-1].end - u.samples16k.size / 16000) < 2e-3
        assert [[p.symbol, p.start, p.end] for p in u.phones] == r["phones"]
        assert (tmp_path / r["audio"]).is_file()
    train = {r["voice"] for r in recs if r["split"] == "train"}
    evalv = {r["voice"] for r in recs if r["split"] == "eval"}
    assert train and evalv and not train & evalv
    for v in train:
        base, _, variant = v.partition("+")
        assert base not in espeak.EVAL_BASES and variant not in espeak.EVAL_VARIANTS
    # deterministic in the seed
    first = (tmp_path / "manifest.jsonl").read_text()
    build()
    assert (tmp_path / "manifest.jsonl").read_text() == first
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["splits"]["train"]["utterances"] == 8


def test_held_out_engines_never_train(tmp_path):
    from avatar_agent.train.corpus.build import _plan

    plan = _plan(SMALL, 0, ("espeak", "festival", "flite", "piper"))
    for j in plan:
        if j["split"] == "train":
            assert j["engine"] in ("espeak", "festival", "flite")
            assert j["engine"] != "festival" or j["voice"] in ("slt", "ked")
            assert j["engine"] != "flite" or j["voice"] in flite.FLITE_VOICES
            assert j["engine"] != "espeak" or not espeak.EspeakVoice(**j["voice_cfg"]).is_eval
        elif j["engine"] == "espeak":
            assert espeak.EspeakVoice(**j["voice_cfg"]).is_eval
    assert {j["voice"] for j in plan if j["engine"] == "piper"} <= {"joe"}


@needs_espeak
def test_extra_training_voices_leave_the_evaluation_set_unchanged():
    from avatar_agent.train.corpus.build import _plan

    engines = ("espeak", "festival", "flite", "piper")
    with_extra = [j for j in _plan(SMALL, 0, engines) if j["split"] == "eval"]
    plain = dataclasses.replace(SMALL, extra_train=())
    assert with_extra == [j for j in _plan(plain, 0, engines) if j["split"] == "eval"]


@pytest.mark.skipif(not flite.available(), reason="flite missing (make train-deps)")
def test_flite_voices_give_timed_phones():
    for voice in flite.FLITE_VOICES:
        r = flite.synth("Bob bought five maps.", voice, stretch=1.1)
        check_phones(r.phones)
        assert r.sample_rate == 16000
        assert abs(r.phones[-1].end - r.samples.size / r.sample_rate) < 0.02
        syms = [p.symbol for p in r.phones]
        assert syms.count("B") == 3 and "M" in syms and "F" in syms  # Bob bought
        # the /b/ of "Bob" starts after the leading silence and its audio is quiet (closure)
        b = next(p for p in r.phones if p.symbol == "B")
        assert 0.02 < b.start < 0.5
    with pytest.raises(flite.FliteError):
        flite.synth("hello", "kal16")  # the held-out voice never trains


@pytest.mark.skipif(not festival.available("ked"), reason="festvox-kdlpc16k missing")
def test_festival_ked_voice():
    (r,) = festival.synth_batch(["Please map the bay."], "ked")
    assert r is not None and r.sample_rate == 16000
    check_phones(r.phones)
    assert {"P", "M", "B"} <= {p.symbol for p in r.phones}


@needs_ps
def test_pocketsphinx_alignment_close_to_espeak_onsets():
    text = "My mother bought a blue phone for the boy, and we made five pumpkins."
    x, rate, ref = espeak.synth(text, espeak.EspeakVoice("en-us", "f2", rate=150))
    hyp = align.align(x, rate, text)
    check_phones(hyp)
    assert abs(hyp[-1].end - resample(x, rate, 16000).size / 16000) < 1e-3
    err = human.onset_errors(ref, hyp)
    n_ref = sum(p.symbol != SILENCE for p in ref)
    assert err.size >= 0.8 * n_ref
    assert np.median(err) < 0.05, f"median onset error {np.median(err) * 1000:.0f} ms"


@pytest.mark.skipif(not festival.available("slt"), reason="festival + festvox-us-slt-hts missing")
def test_festival_batch():
    res = festival.synth_batch(["Hello there, Bob.", "Five pumpkins."], "slt")
    assert all(r is not None for r in res)
    for r in res:
        check_phones(r.phones)
        assert abs(r.phones[-1].end - r.samples.size / r.sample_rate) < 1e-6
        assert {"B", "P", "F"} & {p.symbol for p in r.phones}


@needs_ps
def test_sentences_cover_every_phone():
    from avatar_agent.train.corpus.sentences import SentenceGenerator, cmudict

    gen = SentenceGenerator(seed=0)
    words = cmudict()
    seen: dict[str, int] = {}
    for _ in range(300):
        for w in align.normalize_text(gen.sentence()):
            for p in words.get(w, ()):
                seen[p] = seen.get(p, 0) + 1
    assert set(ARPABET) <= set(seen), set(ARPABET) - set(seen)
    assert min(seen[p] for p in ("P", "B", "M", "F", "V", "UW", "OW")) >= 30
    assert SentenceGenerator(seed=4).sentence() == SentenceGenerator(seed=4).sentence()
