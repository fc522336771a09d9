"""The example's real offline models: MiniLM retrieval, Piper/espeak-ng TTS, Whisper STT."""

from __future__ import annotations

import example_path  # noqa: F401  (examples/ on sys.path)

# isort: split

import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


@pytest.fixture(scope="module")
def embedder():
    from customer_service.embed import MiniLMEmbedder, find_minilm

    try:
        find_minilm()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return MiniLMEmbedder()


@pytest.fixture(scope="module")
def piper():
    from customer_service.tts import PiperVoiceTTS, find_piper_voice

    try:
        find_piper_voice()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return PiperVoiceTTS()


def test_minilm_embeddings(embedder):
    v = embedder.encode(["How long does delivery take?", "When will my parcel arrive?",
                         "Do you accept PayPal?"])  # fmt: skip
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    assert embedder.encode("one").shape == (384,)


@pytest.mark.parametrize(
    ("question", "faq_id"),
    [
        ("when will my package get here", "shipping-time"),
        ("is delivery free", "shipping-cost"),
        ("can you send it to Germany", "international"),
        ("I want to send something back", "returns"),
        ("how do I pay", "payment"),
        ("my kettle stopped working", "warranty"),
        ("what are your opening hours", "hours"),
        ("can I wash the pan in the dishwasher", "dishwasher"),
    ],
)
def test_retrieval_with_minilm(embedder, question, faq_id):
    from customer_service.kb import KnowledgeBase
    from customer_service.retrieval import FaqRetriever

    retriever = FaqRetriever(KnowledgeBase.load(), embedder)
    hit = retriever.best(question)
    assert hit is not None and hit.entry.id == faq_id, retriever.search(question)


def test_espeak_tts():
    from customer_service.tts import EspeakTTS, split_sentences

    assert split_sentences("Hi there! How are you? Fine.") == ["Hi there!", "How are you?", "Fine."]
    tts = EspeakTTS()
    pcm = tts.synthesize("Hello, I am Sam.")
    assert pcm.dtype == np.int16 and 0.8 < len(pcm) / tts.sample_rate < 3.0
    assert np.abs(pcm).max() > 3000
    assert len(tts.synthesize("  ")) == 0


def test_piper_phonemes_and_audio(piper):
    ipa = piper.phonemes("Hello, world.")
    assert ipa.startswith("həlˈoʊ,") and ipa.endswith(".")
    ids = piper.phoneme_ids("ab")
    assert ids[0] == 1 and ids[-1] == 2 and ids[1::2][:-1] == [0, 0, 0][: len(ids[1::2]) - 1]
    pcm = piper.synthesize("Your order shipped. It arrives Thursday.")
    assert pcm.dtype == np.int16 and piper.sample_rate == 22050
    assert 1.5 < len(pcm) / piper.sample_rate < 5.0


def test_whisper_hears_piper(piper):
    from customer_service.stt import WhisperSTT, find_whisper_model

    from avatar_agent.audio import resample

    try:
        find_whisper_model()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    stt = WhisperSTT(threads=1)
    pcm = piper.synthesize("What is your returns policy?").astype(np.float32) / 32768
    text = stt.transcribe(resample(pcm, piper.sample_rate, 16000))
    assert "return" in text.lower(), text
    assert stt.transcribe(np.zeros(16000, np.float32)) == ""
