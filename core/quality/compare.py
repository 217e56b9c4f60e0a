"""Compare two runs case by case: what got better, what got worse (regressions first), per-criterion deltas."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.owners import resolve
from core.quality.runs import get_run, run_results

ORDER = ("worse", "better", "same", "added", "removed")


@dataclass
class CaseChange:
    question: str
    change: str  # worse / better / same / added / removed
    before: object | None  # EvalResult
    after: object | None
    flipped: list[str] = field(default_factory=list)  # evaluators whose pass/fail changed, with direction

    @property
    def score_delta(self) -> float:
        return _mean_score(self.after) - _mean_score(self.before)


@dataclass
class RunComparison:
    before: object  # EvalRun
    after: object
    rows: list[CaseChange]
    criterion_deltas: dict[str, float]

    @property
    def regressions(self) -> list[CaseChange]:
        return [row for row in self.rows if row.change == "worse"]

    @property
    def improvements(self) -> list[CaseChange]:
        return [row for row in self.rows if row.change == "better"]

    @property
    def pass_rate_delta(self) -> float:
        return (self.after.pass_rate or 0.0) - (self.before.pass_rate or 0.0)

    @property
    def layer_changes(self) -> dict[str, tuple]:
        """Which prompt layers differ between the two runs: {layer: (before, after)}."""
        a, b = self.before.prompt_versions or {}, self.after.prompt_versions or {}
        drafts_a, drafts_b = (self.before.variant or {}).get("drafts", {}), (self.after.variant or {}).get("drafts", {})
        return {layer: (a.get(layer, "draft"), b.get(layer, "draft")) for layer in sorted(set(a) | set(b))
                if a.get(layer) != b.get(layer) or drafts_a.get(layer) != drafts_b.get(layer)}


def _mean_score(result) -> float:
    if result is None or not result.scores:
        return 0.0
    return sum(s["score"] for s in result.scores.values()) / len(result.scores)


def _key(result) -> str:
    return " ".join(result.question.lower().split())


def _change(before, after) -> tuple[str, list[str]]:
    if before is None:
        return "added", []
    if after is None:
        return "removed", []
    flipped = []
    for name in sorted(set(before.scores or {}) | set(after.scores or {})):
        was, now = (before.scores or {}).get(name, {}).get("passed"), (after.scores or {}).get(name, {}).get("passed")
        if was is not None and now is not None and was != now:
            flipped.append(f"{name} {'now passes' if now else 'now fails'}")
    if before.passed != after.passed:
        return ("better" if after.passed else "worse"), flipped
    delta = _mean_score(after) - _mean_score(before)
    if abs(delta) >= 0.05:
        return ("better" if delta > 0 else "worse"), flipped
    return "same", flipped


def compare_runs(runtime, before_id: str, after_id: str, owner_id: str | None = None) -> RunComparison:
    owner_id = resolve(runtime, owner_id)
    with runtime.session() as session:
        before, after = get_run(session, before_id, owner_id), get_run(session, after_id, owner_id)
        results_before, results_after = run_results(session, before.id, owner_id), run_results(session, after.id, owner_id)
    old = {_key(r): r for r in results_before}
    new = {_key(r): r for r in results_after}
    rows = []
    for key in list(new) + [k for k in old if k not in new]:
        change, flipped = _change(old.get(key), new.get(key))
        rows.append(CaseChange((new.get(key) or old.get(key)).question, change, old.get(key), new.get(key), flipped))
    rows.sort(key=lambda row: (ORDER.index(row.change), row.score_delta if row.change == "worse" else -row.score_delta))
    names = sorted(set(before.scores or {}) | set(after.scores or {}))
    deltas = {name: round((after.scores or {}).get(name, 0.0) - (before.scores or {}).get(name, 0.0), 4)
              for name in names if name in (before.scores or {}) and name in (after.scores or {})}
    return RunComparison(before, after, rows, deltas)
