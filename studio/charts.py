"""Plotly figures for the Analytics page, and one block that draws a chart (or its empty state)
with its table and a CSV download beside it. Figures only draw what core.analytics computed."""
from __future__ import annotations

from typing import Callable

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from studio.text import escape_md

STAGE_LABELS = {
    "stt": "Speech to text", "retrieval": "Retrieval", "first_token": "First token", "total": "Total",
    "first_audio": "First audio", "speech": "Speech",
}
PART_LABELS = {"retrieval": "Retrieval", "waiting": "Waiting for the first token", "streaming": "Streaming the rest"}
SERIES_LABELS = {"questions": "Questions", "answers": "Answers", "voice_turns": "Voice turns", "threads": "Threads"}
HEIGHT = 340


def _layout(figure: go.Figure, title: str, **axes) -> go.Figure:
    figure.update_layout(title=title, height=HEIGHT, margin=dict(l=10, r=10, t=50, b=10), legend_title_text="", **axes)
    return figure


def block(key: str, title: str, frame: pd.DataFrame, draw: Callable[[pd.DataFrame, str], go.Figure], empty: str,
          table: pd.DataFrame | None = None) -> None:
    """A chart with its table and a CSV download beside it; the empty state (how to get data) instead when empty."""
    if frame is None or frame.empty:
        with st.container(border=True):
            st.markdown(f"**{escape_md(title)}**")
            st.info(empty, icon=":material/insights:")  # the page's own words (Markdown), never user text
        return
    table = _dated(frame if table is None else table)
    chart, side = st.columns([3, 2])
    chart.plotly_chart(draw(frame, title), key=f"analytics.{key}.chart", config={"displaylogo": False})
    with side:
        st.dataframe(table, hide_index=True, height=HEIGHT - 50, key=f"analytics.{key}.table")
        st.download_button("Download CSV", table.to_csv(index=False).encode("utf-8"), file_name=f"{key}.csv",
                           mime="text/csv", icon=":material/download:", key=f"analytics.{key}.csv")


def _dated(table: pd.DataFrame) -> pd.DataFrame:
    """Days as YYYY-MM-DD in tables and CSV files (not midnight timestamps)."""
    days = [c for c in table.columns if pd.api.types.is_datetime64_any_dtype(table[c])]
    return table.assign(**{c: table[c].dt.strftime("%Y-%m-%d") for c in days}) if days else table


def _long(frame: pd.DataFrame, columns: list[str], labels: dict[str, str], name: str = "series") -> pd.DataFrame:
    present = [c for c in columns if c in frame and frame[c].notna().any()]
    long = frame.melt(id_vars="day", value_vars=present, var_name=name, value_name="count")
    long[name] = long[name].map(labels)
    return long


def usage(frame: pd.DataFrame, title: str) -> go.Figure:
    long = _long(frame, ["questions", "answers", "voice_turns", "threads"], SERIES_LABELS)
    figure = px.line(long, x="day", y="count", color="series", markers=len(frame) < 40)
    return _layout(figure, title, xaxis_title="", yaxis_title="per day")


def latency(frame: pd.DataFrame, title: str) -> go.Figure:
    figure = go.Figure()
    colours = px.colors.qualitative.Plotly
    for i, (stage, rows) in enumerate(frame.groupby("stage", sort=False)):
        colour = colours[i % len(colours)]
        label = STAGE_LABELS.get(stage, stage)
        figure.add_scatter(x=rows["day"], y=rows["p50"], name=f"{label} p50", mode="lines", line=dict(color=colour))
        figure.add_scatter(x=rows["day"], y=rows["p95"], name=f"{label} p95", mode="lines",
                           line=dict(color=colour, dash="dot"))
    return _layout(figure, title, xaxis_title="", yaxis_title="ms")


def breakdown(frame: pd.DataFrame, title: str) -> go.Figure:
    long = frame.melt(id_vars=["group", "answers"], value_vars=list(PART_LABELS), var_name="part", value_name="ms")
    long["part"] = long["part"].map(PART_LABELS)
    figure = px.bar(long, y="group", x="ms", color="part", orientation="h", hover_data=["answers"])
    return _layout(figure, title, xaxis_title="ms (median per answer)", yaxis_title="", barmode="stack")


def _model_label(frame: pd.DataFrame) -> pd.Series:
    return frame["provider"].astype(str) + " · " + frame["model"].astype(str)


def cost(frame: pd.DataFrame, title: str) -> go.Figure:
    frame = frame.assign(model_label=_model_label(frame))
    figure = px.bar(frame, x="day", y="cost_usd", color="model_label")
    return _layout(figure, title, xaxis_title="", yaxis_title="USD", barmode="stack")


def tokens(frame: pd.DataFrame, title: str) -> go.Figure:
    daily = frame.groupby("day", as_index=False)[["input_tokens", "output_tokens"]].sum()
    long = daily.melt(id_vars="day", var_name="kind", value_name="tokens")
    long["kind"] = long["kind"].map({"input_tokens": "Input", "output_tokens": "Output"})
    figure = px.bar(long, x="day", y="tokens", color="kind")
    return _layout(figure, title, xaxis_title="", yaxis_title="tokens", barmode="stack")


def cost_per_answer(frame: pd.DataFrame, title: str) -> go.Figure:
    frame = frame.assign(model_label=_model_label(frame))
    figure = px.bar(frame, x="model_label", y="cost_per_answer", hover_data=["answers", "tokens_per_answer"])
    return _layout(figure, title, xaxis_title="", yaxis_title="USD per answer")


def no_source(frame: pd.DataFrame, title: str) -> go.Figure:
    figure = px.line(frame, x="day", y="no_source_share", markers=len(frame) < 40,
                     hover_data=["answers", "nothing_retrieved", "none_cited"])
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(figure, title, xaxis_title="", yaxis_title="share of answers")


def cited(frame: pd.DataFrame, title: str) -> go.Figure:
    top = frame.head(15).iloc[::-1]
    label = top["document"] if top["clone"].nunique() == 1 else top["clone"] + " · " + top["document"]
    figure = px.bar(top.assign(label=label), y="label", x="cited", orientation="h", hover_data=["retrieved", "cite_rate"])
    return _layout(figure, title, xaxis_title="times cited", yaxis_title="")


def pass_rates(frame: pd.DataFrame, title: str) -> go.Figure:
    figure = go.Figure(go.Bar(
        x=frame["version"], y=frame["pass_rate"], customdata=frame[["cases", "runs"]],
        error_y=dict(type="data", symmetric=False, array=frame["ci_high"] - frame["pass_rate"],
                     arrayminus=frame["pass_rate"] - frame["ci_low"]),
        hovertemplate="%{x}: %{y:.0%} of %{customdata[0]} cases (%{customdata[1]} runs)<extra></extra>"))
    figure.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return _layout(figure, title, xaxis_title="prompt version (system/rag/user)", yaxis_title="pass rate")


def heatmap(frame: pd.DataFrame, title: str) -> go.Figure:
    grid = frame.pivot(index="version", columns="criterion", values="score")
    figure = px.imshow(grid, zmin=0, zmax=1, color_continuous_scale="RdYlGn", text_auto=".2f", aspect="auto")
    return _layout(figure, title, xaxis_title="", yaxis_title="prompt version")


def cost_quality(frame: pd.DataFrame, title: str) -> go.Figure:
    figure = px.scatter(frame, x="cost_per_case", y="pass_rate", text="version", size="cases", size_max=28,
                        hover_data=["runs", "latency_ms"])
    figure.update_traces(textposition="top center")
    figure.update_yaxes(tickformat=".0%", range=[0, 1.1])
    return _layout(figure, title, xaxis_title="USD per case", yaxis_title="pass rate")


def confusion(frame: pd.DataFrame, title: str) -> go.Figure:
    grid = frame.pivot(index="human", columns="judge", values="count")
    figure = px.imshow(grid, text_auto=True, color_continuous_scale="Blues", aspect="auto")
    return _layout(figure, title, xaxis_title="judge's vote", yaxis_title="person's vote")
