"""Analytics: how each clone is used, how fast and how well it answers, what it costs. The page only draws."""
import streamlit as st

from core.analytics import Filters, dashboard, filter_options, usage_by_owner
from core.auth import list_users, login_enabled
from core.owners import owner_of
from core.stats import kappa_band
from studio import charts
from studio.identity import current_is_admin
from studio.runtime import owner_runtime
from studio.state import all_clones
from studio.text import escape_md, fmt_ms

PERIODS = {7: "Last 7 days", 30: "Last 30 days", 90: "Last 90 days", 365: "Last year", None: "All time"}
ANY = "Any"
runtime = owner_runtime()
OWNER = owner_of(runtime)
clones = {c.id: f"{c.avatar} {c.name}" for c in all_clones(runtime)}

st.title(":material/monitoring: Analytics", anchor=False)
st.caption("How each clone is used, how fast and how well it answers, and what it costs. Days are UTC days.")

# ---------------------------------------------------------------- filters

top = st.columns([2, 1.4, 1.2, 1.2, 1.4])
clone_id = top[0].selectbox("Clone", [None, *clones], format_func=lambda c: "All clones" if c is None else clones[c],
                            key="analytics.clone")
days = top[1].selectbox("Period", list(PERIODS), index=1, format_func=PERIODS.__getitem__, key="analytics.days")
with runtime.session() as session:
    options = filter_options(session, Filters(clone_id=clone_id, days=days), OWNER)


def pick(column, label: str, values: list[str], key: str):
    choice = column.selectbox(label, [ANY, *values], key=f"analytics.{key}")
    return None if choice == ANY else choice


version = pick(top[2], "Prompt version", options["versions"], "version")
provider = pick(top[3], "Provider", options["providers"], "provider")
model = pick(top[4], "Model", options["models"], "model")
if version:
    st.caption("Prompt versions read system/rag/user: s2/r1/u1 is system v2, RAG v1, user v1; * is an unsaved draft.")

filters = Filters(clone_id=clone_id, days=days, version=version, provider=provider, model=model)
with runtime.session() as session:
    figures = dashboard(session, filters, OWNER)

use, latency, cost, retrieval, quality, judge = st.tabs([
    ":material/forum: Use", ":material/speed: Latency", ":material/payments: Cost",
    ":material/travel_explore: Retrieval", ":material/verified: Quality", ":material/gavel: Judge trust",
])

with use:
    usage = figures["usage_per_day"]
    has_use = not usage.empty and (usage["answers"].sum() > 0 or usage["questions"].fillna(0).sum() > 0)
    if has_use:
        totals = st.columns(4)
        totals[0].metric("Questions", "—" if filters.answers_only else f"{int(usage['questions'].sum()):,}")
        totals[1].metric("Answers", f"{int(usage['answers'].sum()):,}")
        totals[2].metric("Voice turns", f"{int(usage['voice_turns'].sum()):,}")
        totals[3].metric("Failed answers", f"{int(usage['errors'].sum()):,}")
    charts.block("usage_per_day", "Messages, threads and voice turns per day", usage if has_use else None,
                 charts.usage, "No messages in this period yet. Chat with a clone on the Chat page (or pick a longer "
                 "period) and its questions, answers and threads are counted here.")
    if filters.answers_only and has_use:
        st.caption("A prompt version, provider or model filter picks answers, so questions and new threads are not counted.")

with latency:
    charts.block("latency_per_day", "Latency per day: p50 (solid) and p95 (dotted)", figures["latency_per_day"],
                 charts.latency, "No timed answers in this period. Every answer from the Chat page records its "
                 "retrieval, first-token and total time; ask a clone something to start the chart.")
    charts.block("latency_breakdown", "Where an answer's time goes (median per answer)", figures["latency_breakdown"],
                 charts.breakdown, "No timed answers to break down yet. Answers from the Chat page fill this chart.",
                 table=figures["latency_summary"])
    if not figures["latency_per_day"].empty and not set(figures["latency_per_day"]["stage"]) & {"stt", "first_audio"}:
        st.caption("Voice stages (speech to text, first audio, speech) appear here once a voice call has answered.")

with cost:
    per_day = figures["cost_per_day"]
    paid = per_day[per_day["cost_usd"] > 0] if not per_day.empty else per_day
    if not per_day.empty:
        spent = st.columns(3)
        spent[0].metric("Spent", f"${per_day['cost_usd'].sum():,.4f}")
        spent[1].metric("Input tokens", f"{int(per_day['input_tokens'].sum()):,}")
        spent[2].metric("Output tokens", f"{int(per_day['output_tokens'].sum()):,}")
    no_answers = "No answers in this period. Chat with a clone and each answer's tokens and cost are counted here."
    charts.block("cost_per_day", "Cost per day by provider and model", paid, charts.cost,
                 no_answers if per_day.empty else "Nothing cost money in this period: offline answers are free. Costs "
                 "appear here once a cloud model answers (add a key on the Settings page and pick the model in the "
                 "clone's settings).")
    charts.block("tokens_per_day", "Tokens per day", per_day[per_day["answers"] > 0] if not per_day.empty else per_day,
                 charts.tokens, no_answers)
    charts.block("cost_by_model", "Cost per answer by provider and model", figures["cost_by_model"],
                 charts.cost_per_answer, "No answers in this period. Each answer records its provider, model, "
                 "tokens and cost; chat with a clone to compare them here.")

with retrieval:
    summary = figures["retrieval_summary"]
    if summary["answers"]:
        health = st.columns(3)
        health[0].metric("Answers with no relevant source", f"{summary['no_source_share']:.0%}",
                         help="Retrieval found nothing, or the answer cited none of what it found.")
        health[1].metric("Nothing retrieved", f"{summary['nothing_retrieved']:,}")
        health[2].metric("Sources found, none cited", f"{summary['none_cited']:,}")
    charts.block("retrieval_per_day", "Share of answers with no relevant source, per day", figures["retrieval_per_day"],
                 charts.no_source, "No answers in this period. Once a clone answers, this shows how often it "
                 "found nothing useful in its documents.")
    charts.block("cited_documents", "Most cited documents", figures["cited_documents"], charts.cited,
                 "No answer cited a document in this period. Add documents on the Knowledge page and ask about them.")
    st.markdown("**Documents never cited in this period**")
    uncited = figures["uncited_documents"]
    if uncited.empty:
        st.info("Every ready document was cited at least once in this period (or there are no ready documents "
                "yet: add some on the Knowledge page).", icon=":material/insights:")
    else:
        st.dataframe(uncited, hide_index=True, key="analytics.uncited.table")
        st.download_button("Download CSV", uncited.to_csv(index=False).encode("utf-8"), file_name="uncited_documents.csv",
                           mime="text/csv", icon=":material/download:", key="analytics.uncited.csv")

with quality:
    no_runs = ("No suite runs in this period. Run a test suite on the Quality page (or with "
               "`python -m core eval run`) and each prompt version's results appear here.")
    charts.block("pass_rates", "Pass rate per prompt version (95% confidence interval)", figures["version_quality"],
                 charts.pass_rates, no_runs)
    charts.block("criterion_scores", "Score per prompt version and criterion", figures["criterion_scores"],
                 charts.heatmap, no_runs)
    charts.block("cost_quality", "Cost against quality per prompt version", figures["version_quality"],
                 charts.cost_quality, no_runs)

with judge:
    trust = figures["judge_trust"]
    if trust["n"]:
        kappa = "—" if trust["kappa"] is None else f"{trust['kappa']:.2f}"
        cells = st.columns(4)
        cells[0].metric("Cases both voted on", f"{trust['n']:,}")
        cells[1].metric("Cohen's kappa", kappa, help="Agreement beyond chance: 0.61-0.80 substantial, 0.81+ almost perfect.")
        cells[2].metric("Raw agreement", f"{trust['agreement']:.0%}")
        swap = trust["swap_consistency"]
        cells[3].metric("Kept its verdict when swapped", "—" if swap is None else f"{swap:.0%}",
                        help="Share of judged cases where the judge picked the same answer with the order swapped.")
        st.caption(escape_md(f"Agreement is {kappa_band(trust['kappa'])}. " + (
            "The judge agrees with people well enough to be trusted on its own." if trust["trusted"] else
            "Treat the judge as advisory until kappa reaches 0.6 over at least 10 cases.")))
    charts.block("judge_confusion", "Judge against people's votes", figures["judge_confusion"], charts.confusion,
                 "No A/B cases have both a person's blind vote and the judge's vote yet. Run an A/B comparison with "
                 "a judge on the Quality page and vote on its cases.")

st.caption(f"Showing {escape_md(PERIODS[days].lower())} up to {filters.period()[1].isoformat()}"
           + (f" · median total answer time {fmt_ms(figures['latency_summary'].set_index('stage')['p50'].get('total'))}"
              if not figures["latency_summary"].empty and "total" in set(figures["latency_summary"]["stage"]) else ""))

if login_enabled() and current_is_admin():
    with st.expander("Usage across people (admins only)"):
        with runtime.base.session() as session:
            usage = usage_by_owner(session, Filters(days=days))
        names = {user.id: user.name or user.email or user.id for user in list_users(runtime)}
        usage.insert(0, "person", usage.pop("owner_id").map(lambda owner: names.get(owner, owner)))
        if usage.empty:
            st.caption("Nobody has asked anything in this period yet.")
        else:
            st.dataframe(usage, hide_index=True, width="stretch")
            st.download_button("Download CSV", usage.to_csv(index=False), "usage_by_person.csv", "text/csv",
                               key="analytics.usage_by_owner.csv")
