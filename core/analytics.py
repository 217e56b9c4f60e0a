"""The figures the Analytics page plots, as pandas data frames (the CLI prints the same ones).

Counts, tokens, costs, filter choices and document figures read the daily rollups
`analytics_daily` / `analytics_source_daily` (database triggers keep them equal to
`message_stat` / `message_source`, which core.message_stats keeps in step with `message`);
latency reads message_stat's covering index and computes exact percentiles in numpy; quality
and judge figures read the suite runs and A/B votes. Never the big JSON columns: the whole page
takes about a third of a second at 100,000 messages (bench/analytics.py).

Every function takes `filters` (one clone or all, a period, a prompt version, provider, model)
and `owner_id`: one owner's id (default LOCAL_OWNER), a list of ids, or ALL_OWNERS (None) for an
admin view of everyone's data. Days are UTC days.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Sequence, Union

import numpy as np
import pandas as pd
from sqlalchemy import String, case, false, func, literal, select, true, type_coerce

from core.config import LOCAL_OWNER
from core.errors import InvalidInput
from core.models import (
    TIMING_INDEX, ABResult, ABRun, AnalyticsDaily, AnalyticsSourceDaily, Clone, Document, EvalResult, EvalRun, MessageStat,
    UsageEvent,
)
from core.stats import wilson_interval

ALL_OWNERS = None
Owner = Union[str, Sequence[str], None]

STAGES = {  # timing key -> message_stat column, in the order a turn goes through them
    "stt": "stt_ms", "retrieval": "retrieval_ms", "first_token": "first_token_ms", "total": "total_ms",
    "first_audio": "first_audio_ms", "speech": "speech_ms",
}
TEXT_STAGES = ("retrieval", "first_token", "total")
VOICE_STAGES = ("stt", "first_audio", "speech")
VOTES = ("a", "b", "tie")
_VERSION = re.compile(r"^s(\d+|\*)/r(\d+|\*)/u(\d+|\*)$")
S = MessageStat.__table__.c  # one row per message: the latency figures read it (through its covering index)
D = AnalyticsDaily.__table__.c  # message_stat summed per day and key: counts, tokens, costs
SRC = AnalyticsSourceDaily.__table__.c  # message_source summed per day, key and document


# ---------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    """What the page (or `python -m core analytics`) looks at; None means "any"."""

    clone_id: str | None = None
    days: int | None = 30  # the last N days up to `end` (today by default); None: all time
    end: date | None = None
    version: str | None = None  # a label from version_label(), e.g. "s2/r1/u1"
    provider: str | None = None
    model: str | None = None

    def __post_init__(self):
        if self.days is not None and self.days < 1:
            raise InvalidInput("Pick a period of at least one day.")
        if self.version is not None and not _VERSION.match(self.version):
            raise InvalidInput(f"{self.version!r} is not a prompt version; write it like s2/r1/u1.")

    def period(self) -> tuple[date | None, date]:
        end = self.end or datetime.now(timezone.utc).date()
        return (None if self.days is None else end - timedelta(days=self.days - 1)), end

    @property
    def answers_only(self) -> bool:
        """Version, provider and model describe answers, so those filters leave questions out."""
        return bool(self.version or self.provider or self.model)

    def record(self) -> dict:
        start, end = self.period()
        return {**asdict(self), "start": start.isoformat() if start else None, "end": end.isoformat()}


def version_label(system=None, rag=None, user=None) -> str:
    """The prompt versions an answer used, as one short label: "s2/r1/u1" (* for an unsaved draft)."""
    def part(value) -> str:
        return "*" if value is None or (isinstance(value, float) and math.isnan(value)) else str(int(value))
    return f"s{part(system)}/r{part(rag)}/u{part(user)}"


def _versions_of(label: str) -> tuple[int | None, ...]:
    return tuple(None if v == "*" else int(v) for v in _VERSION.match(label).groups())


def owner_condition(column, owner_id: Owner):
    """`column` restricted to one owner, a list of owners, or (ALL_OWNERS) nobody's rows excluded."""
    if owner_id is ALL_OWNERS:
        return true()
    if isinstance(owner_id, str):
        return column == owner_id
    owners = list(owner_id)
    return column.in_(owners) if owners else false()


def _where(filters: Filters, owner_id: Owner, answers: bool = False, c=S) -> list:
    """The filters as conditions on message_stat (`c` = S) or on a daily rollup (D, SRC).

    The rollups keep "" for no provider or model and 0 for no prompt version (an unsaved draft)."""
    start, end = filters.period()
    conditions = [owner_condition(c.owner_id, owner_id), c.day <= end]
    if start is not None:
        conditions.append(c.day >= start)
    if filters.clone_id:
        conditions.append(c.clone_id == filters.clone_id)
    if c is S and (answers or filters.answers_only):
        conditions.append(c.role == "assistant")
    if filters.provider:
        conditions.append(c.provider == filters.provider)
    if filters.model:
        conditions.append(c.model == filters.model)
    if filters.version:
        for column, value in zip((c.v_system, c.v_rag, c.v_user), _versions_of(filters.version)):
            if c is S:
                conditions.append(column.is_(None) if value is None else column == value)
            else:
                conditions.append(column == (0 if value is None else value))
    return conditions


def _null(column, empty):
    """A rollup key column with its "none" value ("" or 0) back as NULL."""
    return func.nullif(column, empty)


def _created_in(column, filters: Filters) -> list:
    """`column` (a timestamp) within the period's UTC days."""
    start, end = filters.period()
    conditions = [column < datetime.combine(end + timedelta(days=1), time(), timezone.utc)]
    if start is not None:
        conditions.append(column >= datetime.combine(start, time(), timezone.utc))
    return conditions


def _frame(session, statement, columns: Sequence[str] | None = None) -> pd.DataFrame:
    result = session.connection().execute(statement)
    names = list(columns or result.keys())
    return pd.DataFrame([tuple(row) for row in result], columns=names)


def _days(start: date | None, end: date, seen: Iterable) -> pd.DatetimeIndex:
    seen = list(seen)
    first = start or (min(seen) if seen else end)
    return pd.date_range(pd.Timestamp(first), pd.Timestamp(end), freq="D", name="day")


def _timestamps(frame: pd.DataFrame, column: str = "day") -> pd.DataFrame:
    if not frame.empty:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def clone_names(session, owner_id: Owner = LOCAL_OWNER) -> dict[str, str]:
    rows = session.connection().execute(select(Clone.id, Clone.name).where(owner_condition(Clone.owner_id, owner_id)))
    return dict(rows.all())


def filter_options(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER) -> dict[str, list[str]]:
    """The prompt versions, providers and models that answered in the clone(s) and period."""
    scope = replace(filters, version=None, provider=None, model=None)
    rows = session.connection().execute(
        select(_null(D.v_system, 0), _null(D.v_rag, 0), _null(D.v_user, 0), D.provider, D.model)
        .where(*_where(scope, owner_id, c=D), D.answers > 0).distinct()
    ).all()
    return {
        "versions": sorted({version_label(*row[:3]) for row in rows}),
        "providers": sorted({row[3] for row in rows if row[3]}),
        "models": sorted({row[4] for row in rows if row[4]}),
    }


# ---------------------------------------------------------------- use, cost and retrieval: one daily aggregate

DAILY = ["questions", "answers", "voice_turns", "threads", "errors", "input_tokens", "output_tokens", "cost_usd",
         "answered", "nothing_retrieved", "none_cited"]


def daily_totals(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER) -> pd.DataFrame:
    """day, provider, model and the day's sums (see DAILY): the input of the use, cost and retrieval
    figures, one GROUP BY over the daily rollup analytics_daily (dashboard() runs it once for all of them).

    `threads` counts threads started (their first question); `answered` counts answers that did
    not fail; `nothing_retrieved` / `none_cited` count those that found no source / cited none.
    With a version, provider or model filter only answers match, so questions and threads are 0.
    """
    sums = {name: func.sum(D[name]) for name in DAILY}
    if filters.answers_only:
        sums["questions"] = sums["threads"] = literal(0)
    provider, model = _null(D.provider, ""), _null(D.model, "")
    statement = (select(D.day, provider, model, *(value.label(name) for name, value in sums.items()))
                 .where(*_where(filters, owner_id, c=D)).group_by(D.day, provider, model))
    frame = _timestamps(_frame(session, statement, ["day", "provider", "model", *DAILY]))
    frame[DAILY] = frame[DAILY].fillna(0)
    frame[[c for c in DAILY if c != "cost_usd"]] = frame[[c for c in DAILY if c != "cost_usd"]].astype("int64")
    frame["cost_usd"] = frame["cost_usd"].astype("float64")
    return frame


def _daily(session, filters: Filters, owner_id: Owner, frame: pd.DataFrame | None) -> pd.DataFrame:
    return daily_totals(session, filters, owner_id) if frame is None else frame


def usage_per_day(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER,
                  daily: pd.DataFrame | None = None) -> pd.DataFrame:
    """day, questions, answers, voice_turns, threads, errors (every day of the period, zeros included).

    A voice turn is an answer whose timings include `first_audio`; `threads` are threads started
    that day. With a version, provider or model filter only answers match, so `questions` and
    `threads` are left empty (NaN).
    """
    frame = _daily(session, filters, owner_id, daily)
    columns = ["questions", "answers", "voice_turns", "threads", "errors"]
    start, end = filters.period()
    if frame.empty and start is None:
        return pd.DataFrame(columns=["day", *columns])
    per_day = frame.groupby("day")[columns].sum()
    out = per_day.reindex(_days(start, end, per_day.index), fill_value=0).reset_index().astype({c: "int64" for c in columns})
    if filters.answers_only:
        out["questions"] = out["threads"] = np.nan
    return out


# ---------------------------------------------------------------- latency


TIMING_KEY = TIMING_INDEX[:10]  # the covering index's filter columns, in its order


def answer_timings(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER) -> pd.DataFrame:
    """One row per answer that did not fail: day, group (clone_id for all clones, the version label
    for one clone) and every stage's milliseconds: the input of the three latency figures
    (dashboard() fetches it once for all three).

    Two reads of message_stat's covering index, both in the index's order: the groups of equal
    filter columns with their sizes, then only the stages' numbers, which numpy takes in one go
    (so no text crosses into Python per answer). Should a message be written between the two
    reads (the sizes no longer add up), it reads again; after three tries it reads every column
    of every answer instead.
    """
    where = [*_where(filters, owner_id, answers=True), S.status != "error"]
    key = [S[name] for name in TIMING_KEY]
    connection = session.connection()
    for _ in range(3):
        groups = connection.execute(select(type_coerce(S.day, String), S.clone_id, S.v_system, S.v_rag, S.v_user,
                                           func.count()).where(*where).group_by(*key).order_by(*key)).all()
        values = _numbers(connection.execute(select(*(S[c] for c in STAGES.values())).where(*where).order_by(*key)))
        sizes = np.array([row[-1] for row in groups], dtype=np.int64)
        if int(sizes.sum()) == len(values):
            return _timing_frame(filters, groups, sizes, values)
    rows = connection.execute(select(type_coerce(S.day, String), S.clone_id, S.v_system, S.v_rag, S.v_user,
                                     *(S[c] for c in STAGES.values())).where(*where)).all()
    return _timing_frame(filters, [(*row[:5], 1) for row in rows], np.ones(len(rows), dtype=np.int64),
                         np.array([row[5:] for row in rows], dtype="float64").reshape(len(rows), len(STAGES)))


def _numbers(result) -> np.ndarray:
    """A result of numeric columns as one float array (NULL -> NaN), without per-value Python work."""
    rows = result.cursor.fetchall()
    result.close()
    return np.array(rows, dtype="float64").reshape(len(rows), len(STAGES))


def _timing_frame(filters: Filters, groups: list, sizes: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    days = pd.to_datetime(pd.Series([str(row[0]) for row in groups], dtype=object), format="%Y-%m-%d")
    if filters.clone_id:
        labels = [version_label(*row[2:5]) for row in groups]
    else:
        labels = [row[1] for row in groups]
    frame = pd.DataFrame({"day": np.repeat(days.to_numpy(dtype="datetime64[ns]"), sizes),
                          "group": np.repeat(np.array(labels, dtype=object), sizes)})
    for i, stage in enumerate(STAGES):
        frame[stage] = values[:, i]
    return frame


def _timings(session, filters: Filters, owner_id: Owner, frame: pd.DataFrame | None) -> pd.DataFrame:
    return answer_timings(session, filters, owner_id) if frame is None else frame


def _present(frame: pd.DataFrame) -> list[str]:
    return [stage for stage in STAGES if stage in frame and frame[stage].notna().any()]


def group_quantiles(codes: np.ndarray, values: np.ndarray, quantiles: Sequence[float],
                    groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Each group's quantiles of `values` (NaN left out), exactly as numpy's default (linear) method:
    (answers per group, groups x quantiles array; NaN where a group has no values). One sort."""
    keep = ~np.isnan(values)
    codes, values = codes[keep], values[keep]
    order = np.lexsort((values, codes))
    codes, values = codes[order], values[order]
    counts = np.bincount(codes, minlength=groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.full((groups, len(quantiles)), np.nan)
    has = counts > 0
    for j, q in enumerate(quantiles):
        position = (counts[has] - 1) * q
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, counts[has] - 1)
        below, above = values[starts[has] + low], values[starts[has] + high]
        out[has, j] = below + (above - below) * (position - low)
    return counts, out


def latency_per_day(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER,
                    timings: pd.DataFrame | None = None) -> pd.DataFrame:
    """day, stage, p50, p95, answers: each stage's percentiles per day (voice stages only when recorded)."""
    frame = _timings(session, filters, owner_id, timings)
    stages = _present(frame)
    if frame.empty or not stages:
        return pd.DataFrame(columns=["day", "stage", "p50", "p95", "answers"])
    codes, days = pd.factorize(frame["day"], sort=True)
    parts = []
    for stage in stages:
        counts, values = group_quantiles(codes, frame[stage].to_numpy(dtype="float64"), (0.5, 0.95), len(days))
        part = pd.DataFrame({"day": days, "stage": stage, "p50": values[:, 0], "p95": values[:, 1], "answers": counts})
        parts.append(part[part["answers"] > 0])
    out = _timestamps(pd.concat(parts, ignore_index=True))
    order = {stage: i for i, stage in enumerate(STAGES)}
    out["_order"] = out["stage"].map(order)
    return out.sort_values(["day", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def latency_summary(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER,
                    timings: pd.DataFrame | None = None) -> pd.DataFrame:
    """stage, answers, p50, p90, p95, p99 over the whole period."""
    frame = _timings(session, filters, owner_id, timings)
    rows = []
    for stage in _present(frame):
        values = frame[stage].dropna().to_numpy()
        p50, p90, p95, p99 = np.percentile(values, [50, 90, 95, 99])
        rows.append({"stage": stage, "answers": len(values), "p50": p50, "p90": p90, "p95": p95, "p99": p99})
    return pd.DataFrame(rows, columns=["stage", "answers", "p50", "p90", "p95", "p99"])


def latency_breakdown(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER,
                      timings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Where an answer's time goes, the median per answer: group, answers, retrieval, waiting, streaming.

    `waiting` is first token - retrieval (prompt assembly and the model's first token), `streaming`
    is total - first token. Grouped by clone, or by prompt version when one clone is selected.
    """
    frame = _timings(session, filters, owner_id, timings)
    columns = ["group", "answers", "retrieval", "waiting", "streaming"]
    frame = frame[frame["total"].notna()]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    group = frame["group"]
    if not filters.clone_id:
        names = clone_names(session, owner_id)
        group = group.map({clone_id: names.get(clone_id, clone_id) for clone_id in group.unique()})
    codes, labels = pd.factorize(group, sort=True)
    retrieval, first, total = (frame[stage].to_numpy(dtype="float64") for stage in ("retrieval", "first_token", "total"))
    parts = {"retrieval": retrieval, "waiting": np.clip(first - retrieval, 0, None),
             "streaming": np.clip(total - first, 0, None)}
    out = pd.DataFrame({"group": labels, "answers": np.bincount(codes, minlength=len(labels))})
    for name, values in parts.items():
        out[name] = group_quantiles(codes, values, (0.5,), len(labels))[1][:, 0]
    return out.sort_values("answers", ascending=False, kind="stable").reset_index(drop=True)[columns]


# ---------------------------------------------------------------- cost


def _usage_events(session, filters: Filters, owner_id: Owner) -> pd.DataFrame:
    """Metered speech and embedding use (usage_event) per day, provider and kind."""
    conditions = [owner_condition(UsageEvent.owner_id, owner_id), *_created_in(UsageEvent.created_at, filters)]
    if filters.clone_id:
        conditions.append(UsageEvent.clone_id == filters.clone_id)
    if filters.provider:
        conditions.append(UsageEvent.provider == filters.provider)
    frame = _frame(session, select(UsageEvent.created_at, UsageEvent.provider, UsageEvent.kind, UsageEvent.cost_usd)
                   .where(*conditions), ["created_at", "provider", "model", "cost_usd"])
    if frame.empty:
        return frame
    frame["day"] = pd.to_datetime(frame["created_at"], utc=True).dt.tz_localize(None).dt.normalize()
    return frame.groupby(["day", "provider", "model"], as_index=False)["cost_usd"].sum()


def cost_per_day(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER,
                 daily: pd.DataFrame | None = None) -> pd.DataFrame:
    """day, provider, model, answers, input_tokens, output_tokens, cost_usd.

    Metered speech and embedding use (usage events) joins in with its kind as the model, when no
    version or model filter is set (those describe answers only).
    """
    columns = ["day", "provider", "model", "answers", "input_tokens", "output_tokens", "cost_usd"]
    frame = _daily(session, filters, owner_id, daily)
    frame = frame.loc[frame["answers"] > 0, columns]
    if not (filters.version or filters.model):
        events = _usage_events(session, filters, owner_id)
        if not events.empty:
            events[["answers", "input_tokens", "output_tokens"]] = 0
            frame = pd.concat([frame, events[columns]], ignore_index=True) if not frame.empty else events[columns]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.copy()
    frame[["provider", "model"]] = frame[["provider", "model"]].fillna("unknown")
    frame[["answers", "input_tokens", "output_tokens"]] = frame[["answers", "input_tokens", "output_tokens"]].astype("int64")
    frame["cost_usd"] = frame["cost_usd"].astype("float64")
    return frame.sort_values(["day", "provider", "model"]).reset_index(drop=True)


def cost_by_model(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER,
                  daily: pd.DataFrame | None = None) -> pd.DataFrame:
    """provider, model, answers, input_tokens, output_tokens, cost_usd, tokens_per_answer, cost_per_answer."""
    columns = ["provider", "model", "answers", "input_tokens", "output_tokens", "cost_usd", "tokens_per_answer",
               "cost_per_answer"]
    frame = _daily(session, filters, owner_id, daily)
    frame = frame[frame["answers"] > 0]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.assign(provider=frame["provider"].fillna("unknown"), model=frame["model"].fillna("unknown"))
    out = frame.groupby(["provider", "model"], as_index=False)[["answers", "input_tokens", "output_tokens", "cost_usd"]].sum()
    out["tokens_per_answer"] = (out["input_tokens"] + out["output_tokens"]) / out["answers"]
    out["cost_per_answer"] = out["cost_usd"] / out["answers"]
    return out.sort_values(["cost_usd", "answers"], ascending=False).reset_index(drop=True)[columns]


# ---------------------------------------------------------------- retrieval health


def retrieval_per_day(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER,
                      daily: pd.DataFrame | None = None) -> pd.DataFrame:
    """day, answers, nothing_retrieved, none_cited, no_source_share (days with answers only).

    An answer has no relevant source when retrieval found nothing, or found passages the answer
    cited none of. Failed answers are left out.
    """
    columns = ["day", "answers", "nothing_retrieved", "none_cited", "no_source_share"]
    frame = _daily(session, filters, owner_id, daily)
    per_day = frame.groupby("day", as_index=False)[["answered", "nothing_retrieved", "none_cited"]].sum()
    per_day = per_day[per_day["answered"] > 0].rename(columns={"answered": "answers"})
    if per_day.empty:
        return pd.DataFrame(columns=columns)
    per_day["no_source_share"] = (per_day["nothing_retrieved"] + per_day["none_cited"]) / per_day["answers"]
    return per_day.reset_index(drop=True)[columns]


def retrieval_summary(per_day: pd.DataFrame) -> dict:
    """Totals of retrieval_per_day: answers, nothing_retrieved, none_cited, no_source_share."""
    answers = int(per_day["answers"].sum()) if not per_day.empty else 0
    nothing = int(per_day["nothing_retrieved"].sum()) if answers else 0
    uncited = int(per_day["none_cited"].sum()) if answers else 0
    return {"answers": answers, "nothing_retrieved": nothing, "none_cited": uncited,
            "no_source_share": (nothing + uncited) / answers if answers else None}


def cited_documents(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER) -> pd.DataFrame:
    """clone, document, cited, answers, retrieved, cite_rate: most cited first.

    `cited` and `retrieved` count passages, `answers` the answers that cited the document.
    """
    statement = select(
        SRC.clone_id, SRC.document, func.sum(SRC.cited).label("cited"), func.sum(SRC.answers).label("answers"),
        func.sum(SRC.retrieved).label("retrieved"),
    ).where(*_where(filters, owner_id, c=SRC)).group_by(SRC.clone_id, SRC.document).having(func.sum(SRC.retrieved) > 0)
    frame = _frame(session, statement)
    columns = ["clone", "document", "cited", "answers", "retrieved", "cite_rate"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    names = clone_names(session, owner_id)
    frame.insert(0, "clone", frame.pop("clone_id").map(lambda clone_id: names.get(clone_id, clone_id)))
    frame["cite_rate"] = frame["cited"] / frame["retrieved"]
    return frame.sort_values(["cited", "retrieved", "document"], ascending=[False, False, True]).reset_index(drop=True)[columns]


def uncited_documents(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER) -> pd.DataFrame:
    """clone, document, kind, pages, chunks, added: ready documents no answer in the period cited."""
    documents = select(Document.id, Document.clone_id, Document.filename, Document.kind, Document.pages,
                       Document.chunk_count, Document.created_at).where(
        owner_condition(Document.owner_id, owner_id), Document.status == "ready")
    if filters.clone_id:
        documents = documents.where(Document.clone_id == filters.clone_id)
    docs = _frame(session, documents, ["id", "clone_id", "document", "kind", "pages", "chunks", "added"])
    columns = ["clone", "document", "kind", "pages", "chunks", "added"]
    if docs.empty:
        return pd.DataFrame(columns=columns)
    cited = session.connection().execute(
        select(SRC.clone_id, SRC.document_id, SRC.document).distinct()
        .where(*_where(filters, owner_id, c=SRC), SRC.cited_any > 0)).all()
    ids = {row[1] for row in cited if row[1]}
    names = {(row[0], row[2]) for row in cited}
    keep = [doc_id not in ids and (clone_id, name) not in names
            for doc_id, clone_id, name in docs[["id", "clone_id", "document"]].itertuples(index=False, name=None)]
    docs = docs[keep].copy()
    clones = clone_names(session, owner_id)
    docs.insert(0, "clone", docs.pop("clone_id").map(lambda clone_id: clones.get(clone_id, clone_id)))
    return docs.sort_values(["clone", "document"]).reset_index(drop=True)[columns]


# ---------------------------------------------------------------- judge trust (A/B votes)


def _votes(session, filters: Filters, owner_id: Owner) -> pd.DataFrame:
    conditions = [owner_condition(ABRun.owner_id, owner_id), *_created_in(ABRun.created_at, filters)]
    if filters.clone_id:
        conditions.append(ABRun.clone_id == filters.clone_id)
    statement = select(ABResult.winner, ABResult.judge_vote, ABResult.judge_detail).select_from(
        ABResult.__table__.join(ABRun.__table__, ABRun.id == ABResult.run_id)).where(*conditions)
    return _frame(session, statement, ["human", "judge", "detail"])


def _agreement(session, filters: Filters, owner_id: Owner):
    from core.quality.agreement import agreement

    votes = _votes(session, filters, owner_id)
    return agreement(list(zip(votes["human"], votes["judge"])), [_json(detail) for detail in votes["detail"]])


def judge_confusion(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER, votes=None) -> pd.DataFrame:
    """human, judge, count: every A/B case a person and the judge both decided (a / b / tie); empty when none."""
    result = _agreement(session, filters, owner_id) if votes is None else votes
    if not result.n:
        return pd.DataFrame(columns=["human", "judge", "count"])
    return pd.DataFrame([(human, judge, result.confusion[human][judge]) for human in VOTES for judge in VOTES],
                        columns=["human", "judge", "count"])


def judge_trust(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER, votes=None) -> dict:
    """n, agreement, kappa (and its band), judged, swap_consistency, trusted (core.quality.agreement).

    `swap_consistency` is the share of judged cases where the judge kept its verdict when the two
    answers were shown the other way round (a contested case has no judge vote, so no kappa).
    """
    result = _agreement(session, filters, owner_id) if votes is None else votes
    return {"n": result.n, "agreement": result.raw, "kappa": result.kappa, "band": result.band,
            "judged": result.judged, "swap_consistency": result.swap_consistency, "trusted": result.trusted}


# ---------------------------------------------------------------- quality (suite runs)


def _runs(session, filters: Filters, owner_id: Owner) -> pd.DataFrame:
    """Suite runs in scope with their prompt-version label and per-run case totals."""
    conditions = [owner_condition(EvalRun.owner_id, owner_id), *_created_in(EvalRun.created_at, filters)]
    if filters.clone_id:
        conditions.append(EvalRun.clone_id == filters.clone_id)
    if filters.provider:
        conditions.append(EvalRun.provider == filters.provider)
    if filters.model:
        conditions.append(EvalRun.model == filters.model)
    totals = (select(EvalResult.run_id, func.count().label("cases"),
                     func.sum(case((EvalResult.passed.is_(True), 1), else_=0)).label("passed"),
                     func.sum(EvalResult.cost_usd).label("cost_usd"), func.avg(EvalResult.latency_ms).label("latency_ms"))
              .group_by(EvalResult.run_id).subquery())
    statement = select(EvalRun.id, EvalRun.prompt_versions, EvalRun.scores, totals.c.cases, totals.c.passed,
                       totals.c.cost_usd, totals.c.latency_ms).join(totals, totals.c.run_id == EvalRun.id).where(*conditions)
    runs = _frame(session, statement, ["run_id", "prompt_versions", "scores", "cases", "passed", "cost_usd", "latency_ms"])
    runs["version"] = [version_label(*(_layer(v, layer) for layer in ("system", "rag", "user")))
                       for v in runs["prompt_versions"]]
    if filters.version:
        runs = runs[runs["version"] == filters.version]
    return runs.drop(columns="prompt_versions").reset_index(drop=True)


def _json(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _layer(versions, layer: str):
    value = _json(versions).get(layer)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def version_quality(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER,
                    runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """version, runs, cases, passed, pass_rate, ci_low, ci_high (Wilson 95 %), cost_per_case, latency_ms."""
    runs = _runs(session, filters, owner_id) if runs is None else runs
    columns = ["version", "runs", "cases", "passed", "pass_rate", "ci_low", "ci_high", "cost_per_case", "latency_ms"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    runs = runs.assign(weighted_latency=runs["latency_ms"].astype("float64") * runs["cases"])
    out = runs.groupby("version").agg(runs=("run_id", "count"), cases=("cases", "sum"), passed=("passed", "sum"),
                                      cost_usd=("cost_usd", "sum"), weighted_latency=("weighted_latency", "sum"))
    out["pass_rate"] = out["passed"] / out["cases"]
    intervals = [wilson_interval(int(p), int(n)) for p, n in zip(out["passed"], out["cases"])]
    out["ci_low"], out["ci_high"] = [i[0] for i in intervals], [i[1] for i in intervals]
    out["cost_per_case"] = out["cost_usd"].astype("float64") / out["cases"]
    out["latency_ms"] = out["weighted_latency"] / out["cases"]
    return out.reset_index()[columns]


def criterion_scores(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER,
                     runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """version, criterion, score (mean 0-1), cases: each criterion's mean score per prompt version.

    Read from each run's per-criterion means (eval_run.scores), weighted by the run's cases.
    """
    runs = _runs(session, filters, owner_id) if runs is None else runs
    columns = ["version", "criterion", "score", "cases"]
    records = [(version, criterion, float(score), int(cases))
               for version, scores, cases in runs[["version", "scores", "cases"]].itertuples(index=False, name=None)
               for criterion, score in _json(scores).items()
               if isinstance(score, (int, float)) and not isinstance(score, bool) and math.isfinite(score)]
    if not records:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(records, columns=["version", "criterion", "score", "cases"])
    frame["weighted"] = frame["score"] * frame["cases"]
    out = frame.groupby(["version", "criterion"], as_index=False)[["weighted", "cases"]].sum()
    out["score"] = out["weighted"] / out["cases"]
    return out[columns]


# ---------------------------------------------------------------- everything the page shows


QUERIES = {
    "usage_per_day": usage_per_day,
    "latency_per_day": latency_per_day,
    "latency_summary": latency_summary,
    "latency_breakdown": latency_breakdown,
    "cost_per_day": cost_per_day,
    "cost_by_model": cost_by_model,
    "retrieval_per_day": retrieval_per_day,
    "cited_documents": cited_documents,
    "uncited_documents": uncited_documents,
    "version_quality": version_quality,
    "criterion_scores": criterion_scores,
    "judge_confusion": judge_confusion,
    "judge_trust": judge_trust,
}


SHARED = {"timings": ("latency_per_day", "latency_summary", "latency_breakdown"),
          "daily": ("usage_per_day", "cost_per_day", "cost_by_model", "retrieval_per_day"),
          "runs": ("version_quality", "criterion_scores"), "votes": ("judge_confusion", "judge_trust")}


def usage_by_owner(session, filters: Filters = Filters(), owner_id: Owner = ALL_OWNERS) -> pd.DataFrame:
    """owner_id, questions, answers, tokens, cost and median answer time per person: the admin's view
    across people (usage only: no clone, document or message text)."""
    statement = select(
        D.owner_id, func.sum(D.questions).label("questions"), func.sum(D.answers).label("answers"),
        func.sum(D.input_tokens + D.output_tokens).label("tokens"), func.sum(D.cost_usd).label("cost_usd"),
    ).where(*_where(Filters(days=filters.days), owner_id, c=D)).group_by(D.owner_id).order_by(D.owner_id)
    return _frame(session, statement, ["owner_id", "questions", "answers", "tokens", "cost_usd"])


def dashboard(session, filters: Filters = Filters(), owner_id: Owner = LOCAL_OWNER) -> dict:
    """Every figure on the Analytics page, by name (data frames, and dicts for the one-line summaries)."""
    inputs = {"timings": answer_timings(session, filters, owner_id), "daily": daily_totals(session, filters, owner_id),
              "runs": _runs(session, filters, owner_id), "votes": _agreement(session, filters, owner_id)}
    shared = {name: {key: inputs[key]} for key, names in SHARED.items() for name in names}
    figures = {name: query(session, filters, owner_id, **shared.get(name, {})) for name, query in QUERIES.items()}
    figures["retrieval_summary"] = retrieval_summary(figures["retrieval_per_day"])
    return figures


def to_json(figures: dict, filters: Filters) -> dict:
    """The dashboard as plain JSON: each frame a list of records (dates as YYYY-MM-DD, NaN as null)."""
    out = {"filters": filters.record()}
    for name, value in figures.items():
        out[name] = _records(value) if isinstance(value, pd.DataFrame) else _plain(value)
    return out


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")]


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if value is pd.NA or value is pd.NaT or value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 6)
    return value
