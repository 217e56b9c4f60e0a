"""Runs: answer every active case of a suite with one set of prompt versions and one model, score it, store it.

`run_suite` works in the caller's thread (CLI, tests); `start_run` does the same in a background
thread and returns a `RunHandle` the page polls for progress and can cancel. Every case is saved
as it finishes, so a run that dies keeps what it did: a run still "running" whose heartbeat
(`updated_at`) is older than `STALE_AFTER` is shown as incomplete.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from statistics import mean
from time import perf_counter
from typing import Callable

from sqlmodel import Session, select

from core.owners import resolve
from core.errors import InvalidInput, NotFound, StudioError
from core.models import EvalResult, EvalRun, utcnow
from core.quality import evaluators
from core.quality.suites import get_suite, suite_cases, suite_settings

STALE_AFTER = timedelta(minutes=5)
FINISHED = ("complete", "incomplete", "cancelled")
Progress = Callable[[int, int, EvalResult], None]
_ACTIVE: set[str] = set()  # run ids being worked on in this process


def _resolve_judge(runtime, setting: str, override: str | None, provider: str) -> str:
    from core.quality.judge import default_judge, parse_spec

    spec = setting if override is None else (override or "none")
    if spec == "none":
        return ""
    if spec == "auto":
        return default_judge(runtime, provider)
    provider_name, model = parse_spec(spec)
    return f"{provider_name}:{model}"


def prepare_run(runtime, clone_id: str, suite_id: str, choice: dict | None = None, provider: str | None = None,
                model: str | None = None, judge: str | None = None, label: str = "",
                owner_id: str | None = None) -> EvalRun:
    """Check everything and store the run as "running" (nothing is answered yet)."""
    owner_id = resolve(runtime, owner_id)
    from core.ab import make_variant
    from core.chat import resolve_model
    from core.clones import get_clone

    with runtime.session() as session:
        clone = get_clone(session, clone_id)
        suite = get_suite(session, suite_id, owner_id)
        if suite.clone_id != clone.id or clone.owner_id != owner_id:
            raise InvalidInput("That test suite belongs to another clone; pick one of this clone's suites.")
        cases = suite_cases(session, suite.id, "active", owner_id)
        if not cases:
            raise InvalidInput("This suite has no active test cases yet; add or accept some first.")
        variant = make_variant(session, clone, choice, label)
        provider, model = resolve_model(clone, provider, model)
        spec = _resolve_judge(runtime, suite_settings(suite)["judge"], judge, provider)
        run = EvalRun(owner_id=owner_id, clone_id=clone.id, suite_id=suite.id, suite_name=suite.name,
                      label=variant.label, prompt_versions=dict(variant.versions), variant=variant.record(),
                      provider=provider, model=model, judge=spec, case_count=len(cases))
        session.add(run)
        session.commit()
        session.refresh(run)
        return run


def execute(runtime, run_id: str, on_progress: Progress | None = None, cancel: threading.Event | None = None,
            owner_id: str | None = None) -> EvalRun:
    """Answer and score every case of a prepared run; see the module docstring."""
    owner_id = resolve(runtime, owner_id)
    from core.ab import variant_from_record
    from core.clones import get_clone
    from core.quality.judge import Judge

    _ACTIVE.add(run_id)
    start = perf_counter()
    try:
        with runtime.session() as session:
            run = get_run(session, run_id, owner_id)
            clone = get_clone(session, run.clone_id)
            suite = get_suite(session, run.suite_id, owner_id)
            settings = suite_settings(suite)
            cases = suite_cases(session, suite.id, "active", owner_id)
            variant = variant_from_record(session, clone, run.variant)
        judge = Judge(runtime, run.judge, settings["k"]) if run.judge else None
        status = "complete"
        for position, case in enumerate(cases):
            if cancel is not None and cancel.is_set():
                status = "cancelled"
                break
            result = _run_case(runtime, clone, run, variant, case, position, settings, judge)
            with runtime.session() as session:
                session.add(result)
                heartbeat = session.get(EvalRun, run.id)
                heartbeat.updated_at = utcnow()
                session.add(heartbeat)
                session.commit()
                session.refresh(result)
            if on_progress:
                on_progress(position + 1, len(cases), result)
        return finish(runtime, run.id, status, perf_counter() - start, judge.cost_usd if judge else 0.0)
    except BaseException as error:
        message = str(error) if isinstance(error, StudioError) else "The run stopped unexpectedly; the cases it finished are kept."
        finish(runtime, run_id, "incomplete", perf_counter() - start, 0.0, message)
        raise
    finally:
        _ACTIVE.discard(run_id)


def run_suite(runtime, clone_id: str, suite_id: str, choice: dict | None = None, provider: str | None = None,
              model: str | None = None, judge: str | None = None, label: str = "",
              on_progress: Progress | None = None, cancel: threading.Event | None = None,
              owner_id: str | None = None) -> EvalRun:
    owner_id = resolve(runtime, owner_id)
    run = prepare_run(runtime, clone_id, suite_id, choice, provider, model, judge, label, owner_id)
    return execute(runtime, run.id, on_progress, cancel, owner_id)


def _run_case(runtime, clone, run: EvalRun, variant, case, position: int, settings: dict, judge) -> EvalResult:
    from core.ab import VariantStream
    from core.chat import citations
    from core.knowledge.search import retrieve

    result = EvalResult(owner_id=run.owner_id, run_id=run.id, case_id=case.id, position=position,
                        question=case.question)
    try:
        started = perf_counter()
        sources = list(retrieve(runtime, clone, case.question).sources)
        result.retrieval_ms = round((perf_counter() - started) * 1000, 2)
        answered = VariantStream(runtime, clone, case.question, sources, variant, run.provider, run.model).run()
    except StudioError as error:
        result.error = str(error)
        return result
    records = citations(sources, answered.text)
    result.answer, result.sources = answered.text, records
    result.citations = [r for r in records if r["cited"]]
    result.cost_usd, result.input_tokens, result.output_tokens = (
        answered.cost_usd, answered.input_tokens, answered.output_tokens)
    result.latency_ms = round(result.retrieval_ms + (answered.total_ms or 0.0), 2)
    if answered.error:
        result.error = answered.error
        return result
    outcome = evaluators.Outcome(answered.text, records, result.latency_ms, answered.cost_usd)
    scores = evaluators.evaluate(case, outcome, settings)
    if judge is not None:
        from core.quality.judge import JudgeError

        try:
            scores.update(judge.score_case(case.question, answered.text, records, variant.prompts.get("system", "")))
        except JudgeError as error:
            result.error = str(error)
    result.scores = {name: score.record() for name, score in scores.items()}
    result.passed = result.error is None and all(score.passed for score in scores.values())
    return result


def finish(runtime, run_id: str, status: str, seconds: float, judge_cost: float = 0.0,
           error: str | None = None) -> EvalRun:
    """Summarise what was done (pass rate over finished cases, per-criterion means, cost) and close the run."""
    with runtime.session() as session:
        run = session.get(EvalRun, run_id)
        results = run_results(session, run_id)
        summary = summarise(results)
        run.pass_rate, run.scores = summary["pass_rate"], summary["scores"]
        run.cost_usd = round(sum(r.cost_usd for r in results) + judge_cost, 6)
        run.duration_ms = round(seconds * 1000, 1)
        run.status = "incomplete" if status == "complete" and len(results) < run.case_count else status
        run.error = error
        run.finished_at = run.updated_at = utcnow()
        session.add(run)
        session.commit()
        session.refresh(run)
        return run


def summarise(results) -> dict:
    results = list(results)
    by_criterion: dict[str, list[float]] = {}
    for result in results:
        for name, score in (result.scores or {}).items():
            by_criterion.setdefault(name, []).append(float(score["score"]))
    return {"pass_rate": (sum(r.passed for r in results) / len(results)) if results else None,
            "scores": {name: round(mean(values), 4) for name, values in sorted(by_criterion.items())}}


# ---------------------------------------------------------------- in the background


@dataclass
class RunHandle:
    run_id: str
    total: int
    done: int = 0
    last: str = ""
    finished: bool = False
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def progress(self, done: int, total: int, result: EvalResult) -> None:
        self.done, self.total, self.last = done, total, result.question


def start_run(runtime, clone_id: str, suite_id: str, owner_id: str | None = None, **options) -> RunHandle:
    """Prepare the run now (errors raise here) and answer its cases in a background thread."""
    owner_id = resolve(runtime, owner_id)
    run = prepare_run(runtime, clone_id, suite_id, owner_id=owner_id, **options)
    handle = RunHandle(run.id, run.case_count)

    def work() -> None:
        try:
            execute(runtime, run.id, handle.progress, handle.cancel, owner_id)
        except StudioError as error:
            handle.error = str(error)
        except Exception:  # the run is marked incomplete by execute(); the page shows this sentence
            handle.error = "The run stopped unexpectedly; the cases it finished are kept."
        finally:
            handle.finished = True

    handle.thread = threading.Thread(target=work, name=f"eval-run-{run.id[:8]}", daemon=True)
    handle.thread.start()
    return handle


# ---------------------------------------------------------------- reading


def _mark_stale(session: Session, runs: list[EvalRun]) -> None:
    now, changed = utcnow(), False
    for run in runs:
        updated = run.updated_at if run.updated_at.tzinfo else run.updated_at.replace(tzinfo=now.tzinfo)
        if run.status == "running" and run.id not in _ACTIVE and now - updated > STALE_AFTER:
            run.status, run.error = "incomplete", "The run stopped before it finished; the cases it finished are kept."
            session.add(run)
            changed = True
    if changed:
        session.commit()


def list_runs(session: Session, clone_id: str, suite_id: str | None = None, owner_id: str | None = None) -> list[EvalRun]:
    owner_id = resolve(session, owner_id)
    query = select(EvalRun).where(EvalRun.clone_id == clone_id, EvalRun.owner_id == owner_id)
    if suite_id:
        query = query.where(EvalRun.suite_id == suite_id)
    runs = list(session.exec(query.order_by(EvalRun.created_at.desc())).all())
    _mark_stale(session, runs)
    return runs


def get_run(session: Session, run_id: str, owner_id: str | None = None) -> EvalRun:
    owner_id = resolve(session, owner_id)
    run = session.get(EvalRun, run_id)
    if run is None or run.owner_id != owner_id:
        raise NotFound("That run no longer exists; pick another one.")
    _mark_stale(session, [run])
    return run


def run_results(session: Session, run_id: str, owner_id: str | None = None) -> list[EvalResult]:
    owner_id = resolve(session, owner_id)
    query = select(EvalResult).where(EvalResult.run_id == run_id, EvalResult.owner_id == owner_id)
    return list(session.exec(query.order_by(EvalResult.position)).all())


def delete_run(session: Session, run_id: str, owner_id: str | None = None) -> None:
    owner_id = resolve(session, owner_id)
    session.delete(get_run(session, run_id, owner_id))
    session.commit()


def describe(run: EvalRun) -> str:
    """One line naming a run: when, versions, model, pass rate."""
    rate = "—" if run.pass_rate is None else f"{run.pass_rate:.0%}"
    when = run.created_at.strftime("%d %b %H:%M")
    return f"{when} · {run.label} · {run.provider}:{run.model} · {rate} · {run.status}"


def run_json(session: Session, run: EvalRun, owner_id: str | None = None) -> dict:
    """The CLI's --json shape."""
    owner_id = resolve(session, owner_id)
    return {
        "run_id": run.id, "status": run.status, "label": run.label, "provider": run.provider, "model": run.model,
        "judge": run.judge or None,
        "cases": [{"question": r.question, "answer": r.answer, "passed": bool(r.passed), "error": r.error,
                   "scores": r.scores, "citations": [{"n": c["n"], "document": c["document"], "page": c.get("page")}
                                                     for c in r.citations]}
                  for r in run_results(session, run.id, owner_id)],
        "pass_rate": run.pass_rate, "scores": run.scores, "cost_usd": run.cost_usd, "duration_ms": run.duration_ms,
    }
