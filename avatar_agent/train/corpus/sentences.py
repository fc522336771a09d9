"""Seeded sentence generator for phonetic coverage.

Mixes customer-service style lines, questions, numbers, dates, names, short backchannels and
"coverage" word strings. Coverage strings pick common words (the cmudict that pocketsphinx
ships, ranked by its English language model's unigram probability) greedily towards phones
seen least so far, with extra weight on lip phones (/p b m/, /f v/, rounded vowels), so that
all 39 phones appear often. Same seed, same sentences.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from avatar_agent.train.phones import ARPABET, BILABIAL, LABIODENTAL, ROUNDED

__all__ = ["SentenceGenerator", "common_words", "cmudict"]

_NAMES = (
    "Anna",
    "Bob",
    "Maria",
    "James",
    "Olivia",
    "Mohammed",
    "Priya",
    "Chen",
    "Sofia",
    "David",
    "Fatima",
    "Lucas",
    "Emma",
    "Noah",
    "Yuki",
    "Paul",
    "Beth",
    "Victor",
    "Vivian",
    "Mabel",
    "Bruno",
    "Phoebe",
    "Owen",
    "Ruth",
    "Joy",
    "George",
    "Zoe",
    "Thomas",
    "Martha",
    "Hugo",
)
_PLACES = (
    "Boston",
    "Chicago",
    "Paris",
    "Tokyo",
    "Madrid",
    "the office",
    "Bombay",
    "Vermont",
    "Memphis",
    "the warehouse",
    "New York",
    "Phoenix",
    "Oslo",
    "Lisbon",
    "Vancouver",
)
_THINGS = (
    "order",
    "package",
    "payment",
    "booking",
    "refund",
    "password",
    "account",
    "invoice",
    "phone",
    "voucher",
    "membership",
    "bill",
    "subscription",
    "appointment",
    "delivery",
    "room",
    "ticket",
    "box",
    "laptop",
    "prescription",
    "movie",
    "menu",
    "flight",
    "photo",
)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_BACKCHANNELS = (
    "Mm-hm.",
    "Okay.",
    "Right.",
    "I see.",
    "Sure.",
    "Yeah.",
    "Uh-huh.",
    "Oh, wow.",
    "Got it.",
    "Of course.",
    "Perfect.",
    "No problem.",
    "Hmm, let me think.",
    "Oh, I see.",
    "Absolutely.",
    "Yes, please.",
    "Thank you!",
    "Bye now.",
    "Hello?",
    "Well, maybe.",
    "Oops!",
    "Wow!",
)
_TEMPLATES = (
    "Hi, thanks for calling, my name is {name}. How can I help you today?",
    "Could you please confirm the {thing} number for me?",
    "I'm sorry to hear that. Let me check your {thing} right away.",
    "Your {thing} was shipped on {day}, {month} {ordinal}, and should arrive by {day2}.",
    "The total comes to {money}. Would you like to pay by card?",
    "Sure, I can move your {thing} to {time} on {day}.",
    "Is there anything else I can help you with, {name}?",
    "Please hold for a moment while I look up your {thing}.",
    "I've sent a confirmation to your email. Did you receive it?",
    "Our office in {place} is open from {hour} a.m. to {hour2} p.m.",
    "Can you spell your last name for me, please?",
    "Your reference number is {digits}.",
    "The flight from {place} to {place2} leaves at {time}.",
    "Why did my {thing} cost {money} this month?",
    "Where would you like us to deliver the {thing}?",
    "What time works best for you, {name}, morning or afternoon?",
    "How many people will be joining you on {day}?",
    "We were born in {year}, and moved to {place} in {year2}.",
    "Do you want me to book it for {month} {ordinal}?",
    "Please call us back at {phone}.",
    "{name} and {name2} went to {place} to buy a new {thing}.",
    "I'm afraid the {thing} isn't available until {month}.",
    "Would you prefer a refund or a voucher worth {money}?",
    "Could you move the meeting with {name} to {day}?",
    "My {thing} broke, and I really need it fixed before {day}.",
    "That's wonderful news, {name}! I'm so happy for you.",
    "Hmm, I'm not sure about that. Let me ask {name}.",
    "About {percent} percent of our customers choose the monthly plan.",
    "It's {temp} degrees and sunny in {place} today.",
    "Oh no, the {thing} is missing? Let me fix that for you.",
)
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@cache
def cmudict() -> dict[str, tuple[str, ...]]:
    """The cmudict shipped with pocketsphinx: lowercase word → first pronunciation.

    Returns:
        Word → ARPAbet phones without stress digits; empty if pocketsphinx is missing.
    """
    try:
        import pocketsphinx
    except ImportError:
        return {}
    path = os.path.join(pocketsphinx.get_model_path(), "en-us", "cmudict-en-us.dict")
    out: dict[str, tuple[str, ...]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2 or not re.fullmatch(r"[a-z]+", parts[0]):
                continue
            out.setdefault(parts[0], tuple(re.sub(r"\d", "", p) for p in parts[1:]))
    return out


@cache
def common_words(n: int = 12000) -> tuple[str, ...]:
    """The ``n`` most probable cmudict words under pocketsphinx's English unigram model.

    Args:
        n: How many words.

    Returns:
        Words, most common first (2+ letters, plus "a" and "i"); empty without pocketsphinx.
    """
    words = cmudict()
    if not words:
        return ()
    import pocketsphinx as ps

    lm_path = os.path.join(ps.get_model_path(), "en-us", "en-us.lm.bin")
    config = ps.Config()
    config["logfn"] = os.devnull
    lm = ps.NGramModel(config, ps.LogMath(), lm_path)
    scored = sorted(
        ((lm.prob([w]), w) for w in words if len(w) > 1 or w in ("a", "i")),
        key=lambda t: (-t[0], t[1]),
    )
    return tuple(w for _, w in scored[:n])


def _say_number(n: int) -> str:
    return str(n)


@dataclass
class SentenceGenerator:
    """Seeded generator of varied English sentences.

    Args:
        seed: Random seed.
        mix: Relative weights of the kinds ``template``, ``coverage``, ``number``,
            ``backchannel``, ``name``.

    Attributes:
        counts: Phones (dictionary pronunciations) of the coverage words chosen so far.
    """

    seed: int = 0
    mix: dict[str, float] = field(
        default_factory=lambda: {
            "template": 0.36,
            "coverage": 0.36,
            "number": 0.1,
            "backchannel": 0.1,
            "name": 0.08,
        }
    )
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._words = common_words()
        self._dict = cmudict()
        self._kinds = list(self.mix)
        p = np.array([self.mix[k] for k in self._kinds], float)
        self._p = p / p.sum()
        self._boost = {ph: 1.0 for ph in ARPABET}
        for ph in BILABIAL | LABIODENTAL | ROUNDED:
            self._boost[ph] = 2.0

    def __iter__(self) -> SentenceGenerator:
        return self

    def __next__(self) -> str:
        return self.sentence()

    def sentence(self) -> str:
        """One sentence of a random kind."""
        kind = self._kinds[int(self._rng.choice(len(self._kinds), p=self._p))]
        if kind == "coverage" and not self._words:
            kind = "template"
        return getattr(self, f"_{kind}")()

    def _pick(self, seq):  # noqa: ANN001, ANN202
        return seq[int(self._rng.integers(len(seq)))]

    def _money(self) -> str:
        r = self._rng
        if r.random() < 0.5:
            return f"${int(r.integers(1, 500))}.{int(r.integers(0, 100)):02d}"
        return f"{int(r.integers(2, 99))} dollars"

    def _fields(self) -> dict[str, str]:
        r = self._rng
        hour = int(r.integers(7, 12))
        return {
            "name": self._pick(_NAMES),
            "name2": self._pick(_NAMES),
            "place": self._pick(_PLACES),
            "place2": self._pick(_PLACES),
            "thing": self._pick(_THINGS),
            "day": self._pick(_DAYS),
            "day2": self._pick(_DAYS),
            "month": self._pick(_MONTHS),
            "ordinal": _ordinal(int(r.integers(1, 32))),
            "money": self._money(),
            "time": self._clock(),
            "hour": str(hour),
            "hour2": str(int(r.integers(4, 10))),
            "digits": " ".join(self._pick(_ONES) for _ in range(int(r.integers(4, 8)))),
            "year": str(int(r.integers(1950, 2030))),
            "year2": str(int(r.integers(1990, 2030))),
            "phone": self._phone(),
            "percent": str(int(r.integers(2, 99))),
            "temp": str(int(r.integers(-5, 40))),
        }

    def _clock(self) -> str:
        hour = int(self._rng.integers(1, 13))
        return f"{hour}:{self._pick(('00', '15', '30', '45'))}"

    def _phone(self) -> str:
        r = self._rng
        a, b, c = int(r.integers(200, 999)), int(r.integers(100, 999)), int(r.integers(1000, 9999))
        return f"{a}-{b}-{c}"

    def _room(self) -> str:
        room = int(self._rng.integers(1, 999))
        return f"Room {room}, floor {int(self._rng.integers(1, 40))}."

    def _template(self) -> str:
        return self._pick(_TEMPLATES).format(**self._fields())

    def _number(self) -> str:
        f = self._fields()
        forms = (
            f"It's {f['time']}.",
            f"That will be {f['money']}, please.",
            f"The code is {f['digits']}.",
            f"I was born on {f['month']} {f['ordinal']}, {f['year']}.",
            f"Call me at {f['phone']}.",
            self._room(),
            f"We need {int(self._rng.integers(2, 5000))} units by {f['day']}.",
        )
        return self._pick(forms)

    def _backchannel(self) -> str:
        return self._pick(_BACKCHANNELS)

    def _name(self) -> str:
        f = self._fields()
        forms = (
            f"Hi {f['name']}!",
            f"Good morning, {f['name']}.",
            f"This is {f['name']} from {f['place']}.",
            f"{f['name']}, are you there?",
            f"Nice to meet you, {f['name']}.",
            f"Thanks, {f['name']}, see you on {f['day']}.",
        )
        return self._pick(forms)

    def _coverage(self) -> str:
        r = self._rng
        n_words = int(r.integers(4, 13))
        top = len(self._words)
        chosen = []
        for _ in range(n_words):
            # half of the words from the 2000 most common, half from the rest
            hi = 2000 if r.random() < 0.5 else top
            cands = [self._words[int(i)] for i in r.integers(0, hi, size=24)]
            scores = [self._score(w) for w in cands]
            w = cands[int(np.argmax(scores))]
            self.counts.update(self._dict.get(w, ()))
            chosen.append(w)
        text = " ".join(chosen)
        text = text[0].upper() + text[1:]
        text = re.sub(r"\bi\b", "I", text)
        if n_words > 7 and r.random() < 0.5:
            k = text.split(" ")
            cut = int(r.integers(2, n_words - 2))
            text = " ".join(k[:cut]) + ", " + " ".join(k[cut:])
        return text + self._pick((".", ".", ".", "?", "!"))

    def _score(self, word: str) -> float:
        phones = self._dict.get(word, ())
        if not phones:
            return 0.0
        total = sum(self.counts.values()) + len(ARPABET)
        s = sum(self._boost[p] / ((self.counts[p] + 1) / total * len(ARPABET)) for p in phones)
        return s / (len(phones) ** 0.5) + 0.3 * self._rng.random()


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
