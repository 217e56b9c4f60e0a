"""What the Knowledge search shows: passages by score, without noise.

Retrieval returns the clone's top passages in fused order, however weak. The search view sorts them
by score, drops what falls under the clone's minimum relevance, and keeps matches under a small floor
apart (a nonsense question then finds "nothing relevant" rather than eight 0.1 "hits").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from core.providers.base import Source

# Below this cosine, a passage shares words or topic only by accident (MiniLM on the demo
# documents: nonsense queries score 0.03-0.20, real questions 0.35-0.9).
NOISE_FLOOR = 0.25


@dataclass
class Relevant:
    shown: list[Source] = field(default_factory=list)  # best first
    weak: list[Source] = field(default_factory=list)  # clear the clone's minimum, not the floor
    bar: float = NOISE_FLOOR


def relevant_passages(sources: Sequence[Source], min_score: float = 0.0, floor: float = NOISE_FLOOR) -> Relevant:
    """Sorted by score (best first); under `min_score` dropped; under max(min_score, floor) kept apart."""
    bar = max(float(min_score or 0.0), floor)
    ranked = sorted((s for s in sources if s.score >= (min_score or 0.0) and s.score > 0), key=lambda s: -s.score)
    return Relevant([s for s in ranked if s.score >= bar], [s for s in ranked if s.score < bar], bar)
