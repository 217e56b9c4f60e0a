"""Quality: test suites (table, files, drafts), runs with progress and cancel, comparisons, blind A/B votes."""
import pandas as pd
import streamlit as st

from core import ab
from core.errors import StudioError
from core.prompts import LAYER_LABELS, LAYERS, history
from core.quality import compare, drafts, runs, suites
from core.quality.agreement import run_agreement
from core.quality.blind import blind_pair, cast_vote, judge_ab_run
from core.quality.evaluators import label as criterion_label
from core.quality.judge import configured_judges
from studio import state
from studio.components import clone_header, confirm_delete
from studio.runtime import owner_runtime
from studio.text import escape_md, fmt_ago, fmt_ms, model_markdown, plural

TABS = {
    "suite": ":material/checklist: Suite", "drafts": ":material/auto_awesome: Drafts", "run": ":material/play_circle: Run",
    "compare": ":material/difference: Compare", "votes": ":material/how_to_vote: Blind A/B",
}
TABLE = ["question", "must_contain", "must_not_contain", "regex", "expected_document", "expected_page",
         "should_refuse", "reference"]
JUDGE_CHOICES = {"suite": "The suite's setting", "none": "No judge"}

runtime = owner_runtime()
clone = state.require_clone(runtime)


def key(*parts) -> str:
    return ".".join(["quality", clone.id, *map(str, parts)])


def fail(error: StudioError) -> None:
    state.flash(str(error), "error")


# ---------------------------------------------------------------- suite: pick, create, settings


def suite_picker():
    with runtime.session() as session:
        all_suites = suites.list_suites(session, clone.id)
        counts = {s.id: (len(suites.suite_cases(session, s.id)), len(suites.suite_cases(session, s.id, "draft")))
                  for s in all_suites}
    if key("suite-next") in st.session_state:
        st.session_state[key("suite")] = st.session_state.pop(key("suite-next"))
    if not all_suites:
        st.info("No test suites yet. Name one below, then add cases in the table, import a CSV or JSON file, "
                "or draft cases from this clone's documents.", icon=":material/checklist:")
        new_suite_form()
        return None
    names = {s.id: f"{s.name} · {plural(counts[s.id][0], 'case')}" + (f" · {counts[s.id][1]} drafts" if counts[s.id][1] else "")
             for s in all_suites}
    pick, add = st.columns([4, 1], vertical_alignment="bottom")
    chosen = pick.selectbox("Test suite", list(names), format_func=names.__getitem__, key=key("suite"))
    with add.popover("New suite", icon=":material/add:", width="stretch"):
        new_suite_form()
    return next(s for s in all_suites if s.id == chosen)


def new_suite_form() -> None:
    with st.form(key("new-suite"), border=False):
        name = st.text_input("Suite name", placeholder="e.g. Opening hours")
        if st.form_submit_button("Create suite", type="primary", icon=":material/add:"):
            try:
                with runtime.session() as session:
                    created = suites.create_suite(session, clone.id, name)
                st.session_state[key("suite-next")] = created.id
                state.flash(f"Created the suite {created.name}.")
            except StudioError as error:
                fail(error)
            st.rerun()


def settings_panel(suite) -> None:
    current = suites.suite_settings(suite)
    ready = configured_judges(runtime)
    with st.expander("Suite settings: judge, repeats, ceilings, thresholds", icon=":material/tune:"):
        with st.form(key("settings", suite.id), border=False):
            judge = st.text_input(
                "LLM judge", value=current["judge"],
                help="provider:model (e.g. anthropic:claude-haiku-4-5), 'auto' for a configured model from another "
                     "family than the one answering, or 'none'.")
            st.caption("Judges available now: " + (", ".join(ready) if ready else
                                                   "none (add an OpenAI or Anthropic key, or a compatible server, in Settings)"))
            k = st.slider("Judge each case k times (the spread is reported)", 1, 5, int(current["k"]))
            left, right = st.columns(2)
            latency = left.number_input("Latency ceiling (ms, 0 = none)", min_value=0, step=500,
                                        value=int(current["latency_ms"] or 0))
            cost = right.number_input("Cost ceiling per answer ($, 0 = none)", min_value=0.0, step=0.001, format="%.4f",
                                      value=float(current["cost_usd"] or 0.0))
            grounded = left.slider("Grounded: a sentence counts as supported at", 0.0, 1.0,
                                   float(current["grounded_threshold"]), 0.05)
            similar = right.slider("Similar to the reference at (cosine)", 0.0, 1.0,
                                   float(current["similarity_threshold"]), 0.05)
            rename = st.text_input("Suite name", value=suite.name)
            if st.form_submit_button("Save settings", icon=":material/save:"):
                try:
                    with runtime.session() as session:
                        suites.update_settings(session, suite.id, {
                            "judge": judge, "k": k, "latency_ms": latency or None, "cost_usd": cost or None,
                            "grounded_threshold": grounded, "similarity_threshold": similar})
                        if rename.strip() != suite.name:
                            suites.rename_suite(session, suite.id, rename)
                    state.flash("Saved the suite's settings.")
                except StudioError as error:
                    fail(error)
                st.rerun()
        if st.button("Delete this suite", key=key("delete", suite.id), icon=":material/delete:", type="tertiary"):
            state.open_dialog("delete-suite", suite_id=suite.id, name=suite.name)


@st.dialog("Delete test suite")
def delete_dialog(payload: dict) -> None:
    st.markdown(f"Delete **{escape_md(payload['name'])}** and its cases? Runs already made keep their results.")

    def delete() -> None:
        with runtime.session() as session:
            suites.delete_suite(session, payload["suite_id"])
        st.session_state.pop(key("suite"), None)

    confirm_delete("Delete suite", delete, f"Deleted the suite {payload['name']}.")


# ---------------------------------------------------------------- suite: table, files


def cases_frame(cases) -> pd.DataFrame:
    text = lambda values: pd.Series(values, dtype="string")  # noqa: E731 (typed even when the suite is empty)
    index = [c.id for c in cases]
    frame = pd.DataFrame({
        "question": text([c.question for c in cases]),
        "must_contain": text(["|".join(c.must_contain) for c in cases]),
        "must_not_contain": text(["|".join(c.must_not_contain) for c in cases]),
        "regex": text([c.regex for c in cases]),
        "expected_document": text([c.expected_document or "" for c in cases]),
        "expected_page": pd.Series([c.expected_page for c in cases], dtype="Int64"),
        "should_refuse": pd.Series([bool(c.should_refuse) for c in cases], dtype="bool"),
        "reference": text([c.reference for c in cases]),
    }, columns=TABLE)
    frame.index = index
    return frame


def table_editor(suite) -> None:
    with runtime.session() as session:
        cases = suites.suite_cases(session, suite.id)
    st.caption("One row per case. Lists are separated by |. Add a row at the bottom; select rows and press Delete "
               "to remove them; then save.")
    edited = st.data_editor(
        cases_frame(cases), num_rows="dynamic", hide_index=True, width="stretch", key=key("table", suite.id),
        column_config={
            "question": st.column_config.TextColumn("Question", required=True, width="large"),
            "must_contain": st.column_config.TextColumn("Must mention", help="Phrases separated by |"),
            "must_not_contain": st.column_config.TextColumn("Must not mention", help="Phrases separated by |"),
            "regex": st.column_config.TextColumn("Pattern", help="A regular expression the answer must match"),
            "expected_document": st.column_config.TextColumn("Expected document"),
            "expected_page": st.column_config.NumberColumn("Page", min_value=1, step=1),
            "should_refuse": st.column_config.CheckboxColumn("Should say it doesn't know"),
            "reference": st.column_config.TextColumn("Reference answer"),
        })
    if st.button("Save cases", key=key("save", suite.id), type="primary", icon=":material/save:"):
        rows = []
        for case_id, row in edited.iterrows():
            record = {name: (None if pd.isna(row[name]) else row[name]) for name in TABLE}
            record["id"] = case_id if isinstance(case_id, str) else None
            rows.append(record)
        try:
            with runtime.session() as session:
                saved = suites.replace_cases(session, suite.id, rows)
            state.flash(f"Saved {plural(len(saved), 'case')}.")
            st.session_state.pop(key("table", suite.id), None)
        except StudioError as error:
            fail(error)
        st.rerun()
    files_panel(suite, cases)


def files_panel(suite, cases) -> None:
    with st.container(horizontal=True):
        st.download_button("Download CSV", suites.export_csv(cases), file_name=f"{suite.name}.csv", mime="text/csv",
                           icon=":material/download:", on_click="ignore", key=key("csv", suite.id))
        st.download_button("Download JSON", suites.export_json(cases), file_name=f"{suite.name}.json",
                           mime="application/json", icon=":material/download:", on_click="ignore",
                           key=key("json", suite.id))
    with st.form(key("import", suite.id), clear_on_submit=True, border=False):
        upload = st.file_uploader("Import cases (CSV or JSON)", type=["csv", "json"], key=key("upload", suite.id))
        if st.form_submit_button("Import into this suite", icon=":material/upload:"):
            if upload is None:
                state.flash("Choose a CSV or JSON file first.", "warning")
            else:
                try:
                    rows = suites.parse_file(upload.getvalue(), upload.name)
                    with runtime.session() as session:
                        suites.add_cases(session, suite.id, rows)
                        session.commit()
                    state.flash(f"Imported {plural(len(rows), 'case')} from {upload.name}.")
                    st.session_state.pop(key("table", suite.id), None)
                except StudioError as error:
                    fail(error)
            st.rerun()


# ---------------------------------------------------------------- drafts


def drafts_panel(suite) -> None:
    st.caption("The studio proposes cases from this clone's own documents, offline: a passage becomes a question "
               "with its source and key phrases, plus a few questions the documents do not answer. "
               "Drafts count only once you accept them.")
    if st.button("Draft cases from my documents", key=key("draft", suite.id), icon=":material/auto_awesome:"):
        added = drafts.add_drafts(runtime, clone.id, suite.id)
        state.flash(f"Drafted {plural(len(added), 'case')}." if added else
                    "No new drafts: add documents on the Knowledge page, or accept or drop the current drafts.",
                    "success" if added else "info")
        st.rerun()
    with runtime.session() as session:
        pending = suites.suite_cases(session, suite.id, "draft")
    if not pending:
        st.info("No drafts waiting.", icon=":material/inbox:")
        return
    if st.button(f"Accept all {len(pending)}", key=key("accept-all", suite.id), icon=":material/done_all:"):
        with runtime.session() as session:
            for case in pending:
                suites.accept_draft(session, case.id)
        state.flash(f"Accepted {plural(len(pending), 'draft')}.")
        st.rerun()
    for case in pending:
        with st.container(border=True):
            question = st.text_input("Question", value=case.question, key=key("dq", case.id))
            phrases = st.text_input("Must mention (separated by |)", value="|".join(case.must_contain), key=key("dm", case.id))
            source = case.expected_document + (f", page {case.expected_page}" if case.expected_page else "") \
                if case.expected_document else "none"
            st.caption(f"Expected source: {escape_md(source)} · "
                       + ("should say it does not know" if case.should_refuse else "should answer"))
            if case.reference:
                st.caption("Reference: " + escape_md(case.reference))
            with st.container(horizontal=True):
                if st.button("Accept", key=key("da", case.id), type="primary", icon=":material/check:"):
                    try:
                        with runtime.session() as session:
                            suites.accept_draft(session, case.id, {"question": question, "must_contain": phrases})
                        state.flash("Accepted the draft.")
                    except StudioError as error:
                        fail(error)
                    st.rerun()
                if st.button("Drop", key=key("dd", case.id), icon=":material/close:"):
                    with runtime.session() as session:
                        suites.delete_case(session, case.id)
                    st.rerun()


# ---------------------------------------------------------------- run


def version_choice(layer: str) -> int | str | None:
    with runtime.session() as session:
        rows = history(session, clone.id, layer)
    active = next((r.version for r in rows if r.active), None)
    options = [None] + [r.version for r in rows] + ["draft"]
    wanted = st.query_params.get(f"{layer}_version")
    pick_key = key("run", layer)
    if wanted and wanted.isdigit() and int(wanted) in options and pick_key not in st.session_state:
        st.session_state[pick_key] = int(wanted)
    picked = st.selectbox(LAYER_LABELS[layer], options, key=pick_key,
                          format_func=lambda v: f"Active (v{active})" if v is None else
                          ("Unsaved draft…" if v == "draft" else f"v{v}"))
    if picked == "draft":
        base = next((r.content for r in rows if r.active), "")
        return st.text_area(f"{LAYER_LABELS[layer]} draft", value=base, key=key("run-draft", layer), height=140)
    return picked


def collect_finished() -> bool:
    """A finished background run: show its results and say how it ended. True when there was one."""
    handle = st.session_state.get(key("handle"))
    if handle is None or not handle.finished:
        return False
    st.session_state[key("pick-run")] = handle.run_id
    st.session_state.pop(key("handle"), None)
    state.flash(handle.error or "The run finished; its results are below.", "error" if handle.error else "success")
    return True


def run_panel(suite) -> None:
    if collect_finished():
        st.rerun()
    if st.session_state.get(key("handle")) is not None:
        progress_view()
        return
    st.caption("Answer every active case with the chosen prompt versions and model; every evaluator scores it.")
    columns = st.columns(3)
    choice = {}
    for column, layer in zip(columns, LAYERS):
        with column:
            picked = version_choice(layer)
            if picked is not None:
                choice[layer] = picked
    with st.expander("Model and judge", icon=":material/smart_toy:"):
        from studio.provider_picker import llm_picker

        provider, model = llm_picker(runtime, clone.llm_provider, clone.llm_model, key=key("llm"))
        judges = {**JUDGE_CHOICES, **{f"{p}:": f"{p} (default model)" for p in configured_judges(runtime)}}
        judge_pick = st.selectbox("Judge for this run", list(judges), format_func=judges.__getitem__, key=key("judge"))
    label = st.text_input("Label (optional)", key=key("label"), placeholder="e.g. shorter system prompt")
    if st.button("Run suite", key=key("start"), type="primary", icon=":material/play_arrow:"):
        judge = None if judge_pick == "suite" else judge_pick
        if judge and judge.endswith(":"):
            from core.providers import catalog

            judge = judge + catalog.default_model(judge[:-1])
        try:
            st.session_state[key("handle")] = runs.start_run(
                runtime, clone.id, suite.id, choice=choice, provider=provider, model=model, judge=judge, label=label)
        except StudioError as error:
            fail(error)
        st.rerun()


@st.fragment(run_every=0.5)
def progress_view() -> None:
    handle = st.session_state.get(key("handle"))
    if handle is None:
        return
    if collect_finished():
        st.rerun()
    text = f"{handle.done} of {plural(handle.total, 'case')}" + (f" · last: {handle.last}" if handle.last else "")
    st.progress(handle.done / max(handle.total, 1), text=text)
    if st.button("Cancel run", key=key("cancel"), icon=":material/stop_circle:", disabled=handle.cancel.is_set()):
        handle.cancel.set()
        st.toast("Cancelling after the current case…")


def runs_view(suite) -> None:
    with runtime.session() as session:
        all_runs = runs.list_runs(session, clone.id, suite.id)
    if not all_runs:
        st.info("No runs of this suite yet: pick versions above and press Run suite.", icon=":material/play_circle:")
        return
    labels = {r.id: runs.describe(r) for r in all_runs}
    if st.session_state.get(key("pick-run")) not in labels:
        st.session_state[key("pick-run")] = all_runs[0].id
    st.divider()
    run_id = st.selectbox("Run", list(labels), format_func=labels.__getitem__, key=key("pick-run"))
    with runtime.session() as session:
        run, results = runs.get_run(session, run_id), runs.run_results(session, run_id)
    metrics = st.columns(4)
    metrics[0].metric("Pass rate", "—" if run.pass_rate is None else f"{run.pass_rate:.0%}")
    metrics[1].metric("Cases", f"{len(results)} / {run.case_count}")
    metrics[2].metric("Duration", fmt_ms(run.duration_ms))
    metrics[3].metric("Cost", f"${run.cost_usd:.4f}")
    st.caption(escape_md(f"{run.label} · {run.provider}:{run.model} · judge {run.judge or 'none'} · {run.status}"))
    if run.error:
        st.warning(escape_md(run.error), icon=":material/warning:")
    if run.scores:
        st.dataframe(pd.DataFrame({"Criterion": [criterion_label(n) for n in run.scores],
                                   "Mean score": list(run.scores.values())}),
                     hide_index=True, column_config={"Mean score": st.column_config.ProgressColumn(min_value=0, max_value=1)})
    for result in results:
        result_card(result)


def result_card(result) -> None:
    icon = ":material/check_circle:" if result.passed else (":material/error:" if result.error else ":material/cancel:")
    with st.expander(f"{'Passed' if result.passed else 'Failed'} · {escape_md(result.question)}", icon=icon):
        st.markdown(model_markdown(result.answer) or "_(no answer)_")
        if result.error:
            st.error(escape_md(result.error), icon=":material/error:")
        if result.scores:
            st.dataframe(pd.DataFrame({
                "Evaluator": [criterion_label(n) for n in result.scores],
                "Score": [s["score"] for s in result.scores.values()],
                "Passed": [s["passed"] for s in result.scores.values()],
                "Reason": [s["reason"] for s in result.scores.values()],
            }), hide_index=True, width="stretch",
                column_config={"Score": st.column_config.ProgressColumn(min_value=0, max_value=1, format="%.2f")})
        cited = ", ".join(f"[{c['n']}] {c['document']}" + (f" p. {c['page']}" if c.get("page") else "")
                          for c in result.citations)
        st.caption(f"Sources cited: {escape_md(cited) or 'none'} · {fmt_ms(result.latency_ms)} · ${result.cost_usd:.4f}")


# ---------------------------------------------------------------- compare


def compare_panel(suite) -> None:
    with runtime.session() as session:
        all_runs = runs.list_runs(session, clone.id, suite.id)
    if len(all_runs) < 2:
        st.info("Compare needs two runs of this suite: run it on two versions in the Run tab.",
                icon=":material/difference:")
        return
    labels = {r.id: runs.describe(r) for r in all_runs}
    left, right = st.columns(2)
    before = left.selectbox("Before", list(labels), index=1, format_func=labels.__getitem__, key=key("cmp-a"))
    after = right.selectbox("After", list(labels), index=0, format_func=labels.__getitem__, key=key("cmp-b"))
    report = compare.compare_runs(runtime, before, after)
    metrics = st.columns(3)
    metrics[0].metric("Pass rate", "—" if report.after.pass_rate is None else f"{report.after.pass_rate:.0%}",
                      delta=f"{report.pass_rate_delta:+.0%}")
    metrics[1].metric("Got worse", len(report.regressions))
    metrics[2].metric("Got better", len(report.improvements))
    if report.layer_changes:
        st.caption("Layers changed: " + " · ".join(
            f"{LAYER_LABELS[layer]} {'draft' if a is None else f'v{a}'} → {'draft' if b is None else f'v{b}'}"
            for layer, (a, b) in report.layer_changes.items()))
    if report.criterion_deltas:
        st.dataframe(pd.DataFrame({"Criterion": [criterion_label(n) for n in report.criterion_deltas],
                                   "Before": [report.before.scores.get(n) for n in report.criterion_deltas],
                                   "After": [report.after.scores.get(n) for n in report.criterion_deltas],
                                   "Change": list(report.criterion_deltas.values())}),
                     hide_index=True, key=key("cmp-deltas"))
    marks = {"worse": "🔻 Worse", "better": "🔺 Better", "same": "Same", "added": "New case", "removed": "Removed"}
    st.dataframe(pd.DataFrame({
        "Change": [marks[row.change] for row in report.rows],
        "Question": [row.question for row in report.rows],
        "Before": ["—" if row.before is None else ("pass" if row.before.passed else "fail") for row in report.rows],
        "After": ["—" if row.after is None else ("pass" if row.after.passed else "fail") for row in report.rows],
        "What flipped": ["; ".join(row.flipped) for row in report.rows],
    }), hide_index=True, width="stretch", key=key("cmp-rows"))
    for row in report.regressions:
        with st.expander(f"Worse · {escape_md(row.question)}", icon=":material/trending_down:"):
            a, b = st.columns(2)
            a.markdown("**Before**\n\n" + model_markdown(row.before.answer if row.before else ""))
            b.markdown("**After**\n\n" + model_markdown(row.after.answer if row.after else ""))
            failing = {n: s for n, s in (row.after.scores or {}).items() if not s["passed"]} if row.after else {}
            for name, score in failing.items():
                st.caption(f"{escape_md(criterion_label(name))}: {escape_md(score['reason'])}")


# ---------------------------------------------------------------- blind A/B votes


def vote(result_id: str, choice: str | None) -> None:
    with runtime.session() as session:
        cast_vote(session, result_id, choice)


def votes_panel() -> None:
    with runtime.session() as session:
        ab_runs = ab.list_runs(session, clone.id)
    if not ab_runs:
        st.info("No A/B runs yet: start one on the Prompts page (A/B runs tab), then vote here without seeing "
                "which version wrote which answer.", icon=":material/how_to_vote:")
        return
    labels = {r.id: f"{fmt_ago(r.created_at)} · {r.variant_a.get('label', 'A')} vs {r.variant_b.get('label', 'B')}"
              for r in ab_runs}
    run_id = st.selectbox("A/B run", list(labels), format_func=labels.__getitem__, key=key("ab-run"))
    with runtime.session() as session:
        run, results = ab.get_run(session, run_id), ab.run_results(session, run_id)
    agreement_view(results)
    judges = configured_judges(runtime)
    if judges:
        from core.providers import catalog

        specs = [f"{p}:{catalog.default_model(p)}" for p in judges]
        pick, go = st.columns([3, 1], vertical_alignment="bottom")
        spec = pick.selectbox("Judge", specs, key=key("ab-judge"))
        if go.button("Let the judge vote", key=key("ab-judge-go"), icon=":material/gavel:", width="stretch"):
            bar = st.progress(0.0, text="The judge reads both orders of each pair…")
            try:
                judge_ab_run(runtime, run.id, spec, lambda done, total: bar.progress(done / total, text=f"{done} of {total}"))
                state.flash("The judge voted on every pair (each in both orders).")
            except StudioError as error:
                fail(error)
            st.rerun()
    else:
        st.caption("Add an OpenAI or Anthropic key (or a compatible server) in Settings to let a judge vote too.")
    for result in results:
        shown = blind_pair(result)
        with st.container(border=True):
            st.markdown(f"**Q{result.position + 1}. {escape_md(result.question)}**")
            left, right = st.columns(2)
            left.markdown("**Left**\n\n" + model_markdown(shown.left))
            right.markdown("**Right**\n\n" + model_markdown(shown.right))
            with st.container(horizontal=True):
                for choice, text in (("left", "Left is better"), ("tie", "Tie"), ("right", "Right is better")):
                    st.button(text, key=f"vote-{result.id}-{choice}", type="primary" if shown.vote == choice else "secondary",
                              on_click=vote, args=(result.id, None if shown.vote == choice else choice))


def agreement_view(results) -> None:
    report = run_agreement(results)
    columns = st.columns(4)
    columns[0].metric("Judge vs people (κ)", "—" if report.kappa is None else f"{report.kappa:.2f}",
                      help="Cohen's kappa over pairs with both a person's vote and a counted judge vote.")
    columns[1].metric("Votes compared (n)", report.n)
    columns[2].metric("Kept its verdict when swapped",
                      "—" if report.swap_consistency is None else f"{report.swap_consistency:.0%}",
                      help=f"Over {plural(report.judged, 'pair')} judged in both orders; contested pairs are not counted.")
    columns[3].metric("Raw agreement", "—" if report.raw is None else f"{report.raw:.0%}")
    verdict = "trust it" if report.trusted else "treat it as advisory"
    st.caption(f"Agreement is {report.band}; {verdict} (a judge earns trust at κ ≥ 0.6 over at least 10 votes).")


# ---------------------------------------------------------------- layout

clone_header(clone, "Judge this clone with numbers: test suites, scored runs, comparisons and blind votes.")
with st.container():
    state.show_flashes()
payload = state.dialog("delete-suite")
if payload:
    delete_dialog(payload)

suite = suite_picker()
if suite is not None:
    if st.query_params.get("tab") == "run" and key("tab-set") not in st.session_state:
        st.session_state[key("tab-set")] = True
        st.session_state["quality.tab"] = TABS["run"]
    tab_suite, tab_drafts, tab_run, tab_compare, tab_votes = st.tabs(list(TABS.values()), key="quality.tab",
                                                                     on_change="rerun")
    if tab_suite.open:
        with tab_suite:
            settings_panel(suite)
            table_editor(suite)
    if tab_drafts.open:
        with tab_drafts:
            drafts_panel(suite)
    if tab_run.open:
        with tab_run:
            run_panel(suite)
            runs_view(suite)
    if tab_compare.open:
        with tab_compare:
            compare_panel(suite)
    if tab_votes.open:
        with tab_votes:
            votes_panel()
