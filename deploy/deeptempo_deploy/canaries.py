"""smoke's canaries, and the search for them in what an app answers.

A canary is a fresh random value of a secret's format: a prefix the format fixes (`ghp_`, `sk-ant-`: it
reveals nothing) and a random part drawn from the widest alphabet the format takes. An answer leaks a
secret when it holds the canary in full, or a part of its random part long enough that it cannot be
there by chance:

- the prefix and the first `prefix_run` random characters (what a "preview" shows: the backend's
  `token_preview` is a GitHub token's first 12 characters, `ghp_` and 8 random ones);
- the last `suffix_run` random characters ("...a1b2c3d4");
- any `any_run` consecutive random characters.

The lengths are computed, per canary, from its alphabet and length so that, in ANSWER_BYTES of answers,
the chance that any canary matches anywhere by accident stays below FALSE_ALARM_BOUND. The random part
is independent of the answers, so a given run of k of its characters equals the k characters at one
position of an answer with probability at most 1/|alphabet|^k, whatever the answer holds; a union bound
over every position and every run gives the figure (`LeakSearch.bound`). With the built-in spec's ten
secrets it is below 1e-6 for 10 MB of answers (tests/deploy/test_canaries.py checks that figure, and
runs 100,000 canaries over the DeepTempo backend's own findings data without a match)."""

from __future__ import annotations

import math
import re
import secrets
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

ANSWER_BYTES = 10 * 1024 * 1024  # the amount of answers the bound is computed for
FALSE_ALARM_BOUND = 1e-6  # the chance of an accidental match in that much, for all canaries together
# How each canary's share of the bound is spent: mostly on the prefix run, the one a preview shows.
SHARES = {"prefix": 0.9, "suffix": 0.05, "any": 0.05}
MIN_RUN = 8  # no run is shorter: every search starts from the set of 8-character substrings of an answer
ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
# (alphabet, length) of the random part, widest first: a format that refuses one gets the next.
SHAPES = ((ALNUM, 32), (ALNUM, 40), (UPPER, 32), (UPPER, 16), (HEX, 40), (HEX, 32))


@dataclass(frozen=True)
class Canary:
    """One secret's generated value; `prefix` + `random` (+ `suffix`, for a URL) is the whole of it."""

    name: str
    value: str
    prefix: str
    random: str
    alphabet_size: int

    def __repr__(self) -> str:  # the value is a stand-in for a secret: it stays out of every repr
        return f"Canary({self.name})"


@dataclass
class Runs:
    """The run lengths searched for one canary, and the share of the false-alarm bound they spend."""

    prefix: int
    suffix: int
    any: int
    chance: float
    windows: list[str] = field(default_factory=list)


_SYSTEM_RANDOM = secrets.SystemRandom()  # the operating system's random source, as `secrets` uses


def random_text(alphabet: str, length: int) -> str:
    return "".join(_SYSTEM_RANDOM.choices(alphabet, k=length))


def shortest_run(alphabet_size: int, windows_of: Callable[[int], int], budget: float, longest: int,
                 answer_bytes: int) -> tuple[int, float]:
    """The shortest run length k >= MIN_RUN whose accidental-match chance, answer_bytes x (number of runs
    of length k) / alphabet_size^k, fits `budget`; (k, that chance). Longer than the random part: no
    partial run is searched (k = longest + 1, chance 0)."""
    for run in range(MIN_RUN, longest + 1):
        chance = answer_bytes * windows_of(run) * alphabet_size ** -run
        if chance <= budget:
            return run, chance
    return longest + 1, 0.0


def runs_for(canary: Canary, budget: float, answer_bytes: int = ANSWER_BYTES) -> Runs:
    size, length = canary.alphabet_size, len(canary.random)
    prefix, prefix_chance = shortest_run(size, lambda run: 1, budget * SHARES["prefix"], length, answer_bytes)
    suffix, suffix_chance = shortest_run(size, lambda run: 1, budget * SHARES["suffix"], length, answer_bytes)
    anywhere, any_chance = shortest_run(size, lambda run: length - run + 1, budget * SHARES["any"], length, answer_bytes)
    windows = [canary.value]
    if prefix <= length:
        windows.append(canary.prefix + canary.random[:prefix])
    if suffix <= length:
        windows.append(canary.random[-suffix:])
    windows += [canary.random[index:index + anywhere] for index in range(length - anywhere + 1)]
    return Runs(prefix, suffix, anywhere, prefix_chance + suffix_chance + any_chance, windows)


class LeakSearch:
    """The canaries of one smoke run and the runs searched for each; `find` over one answer."""

    def __init__(self, canaries: Sequence[Canary], answer_bytes: int = ANSWER_BYTES,
                 bound: float = FALSE_ALARM_BOUND) -> None:
        self.canaries = list(canaries)
        budget = bound / max(1, len(self.canaries))
        self.runs = {canary.name: runs_for(canary, budget, answer_bytes) for canary in self.canaries}

    @property
    def bound(self) -> float:
        """The chance that some canary matches by accident somewhere in answer_bytes of answers."""
        return sum(runs.chance for runs in self.runs.values())

    def find(self, answer: Answer | str) -> list[tuple[str, bool]]:
        """(secret, in full) for each canary the answer holds in full or by a searched run."""
        answer = Answer(answer) if isinstance(answer, str) else answer
        found = []
        for canary in self.canaries:
            if canary.value in answer.body:
                found.append((canary.name, True))
            elif any(answer.holds(window) for window in self.runs[canary.name].windows[1:]):
                found.append((canary.name, False))
        return found


class Answer:
    """An answer's text and the set of its MIN_RUN-character substrings (made once): a run is looked
    for in the text only when its first MIN_RUN characters are in the set."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.grams = {body[index:index + MIN_RUN] for index in range(len(body) - MIN_RUN + 1)}

    def holds(self, run: str) -> bool:
        return run[:MIN_RUN] in self.grams and run in self.body

    def __repr__(self) -> str:  # the text may hold the very secret searched for
        return f"Answer({len(self.body)} characters)"


def literal_prefixes(pattern: str | None) -> list[str]:
    """The fixed starts a spec pattern allows: its leading literal (`sk-ant-`), or each alternative of
    a leading group (`(AKIA|ASIA)`, `(ghp_|gho_|...)`), else none."""
    if not pattern:
        return [""]
    group = re.match(r"\(([A-Za-z0-9_\-|]+)\)", pattern)
    if group:
        return [alternative for alternative in group.group(1).split("|") if alternative] + [""]
    literal = re.match(r"[A-Za-z0-9_\-]*", pattern)
    return list(dict.fromkeys([literal.group(0) if literal else "", ""]))


def generate(name: str, shapes_for: Iterable[tuple[str, str, int, str]], accepts: Callable[[str], bool]) -> Canary | None:
    """The first shape (prefix, alphabet, length, suffix) whose random value the secret's checks accept."""
    for prefix, alphabet, length, suffix in shapes_for:
        random = random_text(alphabet, length)
        value = prefix + random + suffix
        if accepts(value):
            return Canary(name, value, prefix, random, len(alphabet))
    return None


def shapes(pattern: str | None, postgresql_url: bool) -> list[tuple[str, str, int, str]]:
    """The shapes to try for a secret of this pattern or format, widest alphabet first."""
    if postgresql_url:  # the password is the random part, amid a URL's fixed parts
        return [("postgresql://smoke:", ALNUM, 32, "@db.invalid:5432/smoke")]
    return [(prefix, alphabet, length, "") for prefix in literal_prefixes(pattern) for alphabet, length in SHAPES]


def bound_text(search: LeakSearch) -> str:
    exponent = math.floor(math.log10(search.bound)) if search.bound > 0 else None
    return f"below 1e{exponent + 1}" if exponent is not None else "0"
