"""How far to trust the judge: its agreement with people's blind votes and with itself under a swap.

Cohen's kappa (core.stats) over the A/B results that have both a person's vote and a counted
judge vote; swap consistency is the share of judged pairs where the judge gave the same verdict
with the answers in both orders (a contested pair has no judge vote and is left out of kappa).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from core.stats import cohen_kappa, kappa_band

LABELS = ("a", "b", "tie")


@dataclass
class Agreement:
    n: int  # results with both a human vote and a counted judge vote
    kappa: float | None
    band: str
    raw: float | None  # share of those n where they agree
    judged: int  # pairs the judge saw in both orders
    swap_consistency: float | None
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # confusion[human][judge]

    @property
    def trusted(self) -> bool:
        """Advisory until it agrees with people substantially (kappa >= 0.6) on at least 10 votes."""
        return self.kappa is not None and self.kappa >= 0.6 and self.n >= 10


def swap_consistency(details: Sequence[dict]) -> tuple[int, float | None]:
    judged = [d for d in details if d and d.get("first") and d.get("swapped")]
    if not judged:
        return 0, None
    return len(judged), sum(d["first"] == d["swapped"] for d in judged) / len(judged)


def agreement(pairs: Sequence[tuple[str | None, str | None]], details: Sequence[dict] = ()) -> Agreement:
    """`pairs`: (human vote, judge vote) per result, either may be None."""
    both = [(h, j) for h, j in pairs if h in LABELS and j in LABELS]
    humans, judges = [h for h, _ in both], [j for _, j in both]
    kappa = cohen_kappa(humans, judges) if both else None
    confusion = {h: {j: 0 for j in LABELS} for h in LABELS}
    for h, j in both:
        confusion[h][j] += 1
    judged, consistency = swap_consistency(details)
    raw = (sum(h == j for h, j in both) / len(both)) if both else None
    return Agreement(len(both), kappa, kappa_band(kappa), raw, judged, consistency, confusion)


def run_agreement(results) -> Agreement:
    """Agreement over one A/B run's results (or several runs' results together)."""
    results = list(results)
    return agreement([(r.winner, r.judge_vote) for r in results], [r.judge_detail or {} for r in results])
