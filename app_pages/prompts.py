"""Prompts: edit a clone's layers as versions, diff and activate them, compare variants, run A/B suites."""
import pandas as pd
import streamlit as st

from core.ab import (
    WINNERS, compare, get_run, list_runs, make_variant, mark_winner, run_ab, run_results, run_totals, tally,
)
from core.bundles import bundle_filename, export_bundle
from core.errors import StudioError
from core.prompts import (
    BUILTIN_NAMES, LAYER_LABELS, LAYERS, SLOTS, activate_version, active_prompts, diff_versions, history,
    save_version, set_clone_variables, token_count, token_counts, validate_layer,
)
from core.question_sets import (
    create_question_set, delete_question_set, list_question_sets, parse_questions, update_question_set,
)
from core.template_library import save_as_template
from studio import state
from studio.components import answer_meta, clone_header, offline_prompts_note, sources_table
from studio.provider_picker import retrieval_settings
from studio.runtime import owner_runtime
from studio.safe_markdown import write_stream
from studio.text import escape_md, fmt_ago, fmt_ms, model_markdown, plural

LAYER_HELP = {
    "system": "Who the clone is and how it speaks.",
    "rag": "How the retrieved sources are presented and cited; must contain {{ sources }}.",
    "user": "The wrapper around each question; must contain {{ question }}.",
}
DIFF_COLOURS = {"changed": "#fff4ce", "added": "#dcf5e3", "removed": "#fde2e1", "equal": ""}
ACTIVE, DRAFT = "active", "draft"
TABS = {
    "edit": ":material/edit: Editor", "history": ":material/history: History & diff",
    "play": ":material/compare_arrows: Playground", "sets": ":material/quiz: Question sets",
    "runs": ":material/science: A/B runs",
}

runtime = owner_runtime()
clone = state.require_clone(runtime)


def key(*parts) -> str:
    return ".".join(["prompts", clone.id, *map(str, parts)])


def versions_of(layer: str) -> list:
    with runtime.session() as session:
        return history(session, clone.id, layer)


def fail(error: StudioError) -> None:
    state.flash(str(error), "error")


# ---------------------------------------------------------------- editor


def load_base(layer: str) -> None:
    """The "Start from" choice changed: put that version's text in the editor."""
    base = st.session_state[key(layer, "base-input")]
    content = {row.version: row.content for row in versions_of(layer)}[base]
    st.session_state[key(layer, "base")] = base
    st.session_state[key(layer, "draft")] = st.session_state[key(layer, "draft-input")] = content


def keep_draft(layer: str) -> None:
    st.session_state[key(layer, "draft")] = st.session_state[key(layer, "draft-input")]


def ensure_draft(layer: str, rows: list) -> None:
    """The draft and its base live outside the widgets, so they survive switching tabs and layers."""
    if st.session_state.get(key(layer, "base")) not in [row.version for row in rows]:
        active = next(row for row in rows if row.active)
        st.session_state[key(layer, "base")] = active.version
        st.session_state[key(layer, "draft")] = active.content
        st.session_state.pop(key(layer, "draft-input"), None)
        st.session_state.pop(key(layer, "base-input"), None)
    st.session_state.setdefault(key(layer, "base-input"), st.session_state[key(layer, "base")])
    st.session_state.setdefault(key(layer, "draft-input"), st.session_state[key(layer, "draft")])


def save_draft(layer: str, activate: bool) -> None:
    keep_draft(layer)
    message = st.session_state.get(key(layer, "message"), "")
    try:
        with runtime.session() as session:
            row = save_version(session, clone.id, layer, st.session_state[key(layer, "draft")], message,
                               parent=st.session_state[key(layer, "base")], activate=activate)
    except StudioError as error:
        fail(error)
        return
    st.session_state[key(layer, "base")] = st.session_state[key(layer, "base-input")] = row.version
    st.session_state[key(layer, "message")] = ""
    state.flash(f"Saved {LAYER_LABELS[layer]} v{row.version}" + (" and made it active." if activate else "."))


def variable_check(layer: str, text: str) -> None:
    tokens = token_count(text)
    try:
        validate_layer(clone, layer, text)
        st.caption(f":material/check_circle: {plural(tokens, 'token')} · variables OK")
    except StudioError as error:
        st.caption(f"{plural(tokens, 'token')}")
        st.error(escape_md(str(error)), icon=":material/error:")


def available_variables(layer: str) -> None:
    names = [*BUILTIN_NAMES, *(clone.variables or {}), *SLOTS[layer]]
    st.caption("Variables you can use: " + ", ".join(f"`{{{{ {name} }}}}`" for name in names))


def editor(layer: str, rows: list) -> None:
    labels = {row.version: f"v{row.version}" + (" (active)" if row.active else "") + f" · {row.message}" for row in rows}
    st.selectbox("Start from", list(labels), format_func=labels.__getitem__, key=key(layer, "base-input"),
                 on_change=load_base, args=(layer,), help="The version your edit is based on (its parent).")
    text = st.text_area(f"{LAYER_LABELS[layer]} prompt", key=key(layer, "draft-input"), height=300,
                        help=LAYER_HELP[layer], on_change=keep_draft, args=(layer,))
    variable_check(layer, text)
    available_variables(layer)
    message, save, save_active = st.columns([4, 1, 1], vertical_alignment="bottom")
    message.text_input("Commit message", key=key(layer, "message"), placeholder="What changed, e.g. Shorter answers")
    save.button("Save version", key=key(layer, "save"), icon=":material/save:", width="stretch",
                on_click=save_draft, args=(layer, False))
    save_active.button("Save and activate", key=key(layer, "save-active"), type="primary", width="stretch",
                       on_click=save_draft, args=(layer, True))


def variables_panel() -> None:
    with st.expander("Custom variables", icon=":material/data_object:"):
        st.caption("Your own values for the prompts, e.g. `company_name`. Use them as `{{ company_name }}`.")
        variables = clone.variables or {}
        frame = pd.DataFrame({"name": list(variables), "value": list(variables.values())}, dtype="string")
        edited = st.data_editor(frame, num_rows="dynamic", hide_index=True, width="stretch", key=key("variables"),
                                column_config={"name": st.column_config.TextColumn("Name"),
                                               "value": st.column_config.TextColumn("Value")})
        if st.button("Save variables", key=key("save-variables"), icon=":material/save:"):
            values = {str(r["name"]).strip(): "" if pd.isna(r["value"]) else str(r["value"])
                      for r in edited.to_dict("records") if isinstance(r["name"], str) and r["name"].strip()}
            try:
                with runtime.session() as session:
                    set_clone_variables(session, clone.id, values)
                state.flash("Saved the variables.")
            except StudioError as error:
                fail(error)
            st.rerun()


def template_panel() -> None:
    with st.expander("Save as a template", icon=":material/bookmark_add:"):
        st.caption("Keep this clone's active prompts, variables and settings as a template of your own.")
        with st.form(key("template-form"), border=False, clear_on_submit=True):
            name = st.text_input("Template name")
            description = st.text_input("Description", value=clone.description)
            if st.form_submit_button("Save template", icon=":material/bookmark_add:"):
                try:
                    template = save_as_template(runtime, clone.id, name, description=description)
                    state.flash(f"Saved the template {template.name}; it is in the New clone wizard.")
                except StudioError as error:
                    fail(error)
                st.rerun()


# ---------------------------------------------------------------- history and diff


def history_panel(layer: str, rows: list) -> None:
    frame = pd.DataFrame({
        "Version": [row.version for row in rows],
        "Active": [row.active for row in rows],
        "Message": [row.message for row in rows],
        "Author": [row.author for row in rows],
        "From": [f"v{row.parent_version}" if row.parent_version else "" for row in rows],
        "Saved": [fmt_ago(row.created_at) for row in rows],
        "Tokens": [token_count(row.content) for row in rows],
    })
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"Active": st.column_config.CheckboxColumn(width="small")})
    numbers = [row.version for row in rows]
    active = next(row.version for row in rows if row.active)
    pick, go = st.columns([3, 1], vertical_alignment="bottom")
    chosen = pick.selectbox("Version to activate", numbers, index=numbers.index(active), key=key(layer, "activate-pick"),
                            format_func=lambda v: f"v{v}" + (" (active)" if v == active else ""))
    if go.button("Activate", key=key(layer, "activate"), icon=":material/published_with_changes:", width="stretch",
                 disabled=chosen == active):
        try:
            with runtime.session() as session:
                activate_version(session, clone.id, layer, chosen)
            state.flash(f"{clone.name} now answers with {LAYER_LABELS[layer]} v{chosen}.")
        except StudioError as error:
            fail(error)
        st.rerun()
    if st.button(f"Run a test suite on v{chosen}", key=key(layer, "evaluate"), icon=":material/fact_check:",
                 type="tertiary", help="Opens the Quality page with this version picked for the run."):
        st.switch_page(state.PAGE_QUALITY, query_params={state.CLONE_PARAM: clone.id, "tab": "run",
                                                         f"{layer}_version": str(chosen)})


def side_by_side(diff, a: int, b: int) -> None:
    frame = pd.DataFrame({
        "#": [row.left_no for row in diff.rows], f"v{a}": [row.left for row in diff.rows],
        "# ": [row.right_no for row in diff.rows], f"v{b}": [row.right for row in diff.rows],
    })
    kinds = [row.kind for row in diff.rows]

    def colour(row):
        return [f"background-color: {DIFF_COLOURS[kinds[row.name]]}" if kinds[row.name] != "equal" else ""] * len(row)

    st.dataframe(frame.style.apply(colour, axis=1), hide_index=True, width="stretch", key=key("diff-table"),
                 column_config={"#": st.column_config.NumberColumn(width="small"),
                                "# ": st.column_config.NumberColumn(width="small"),
                                f"v{a}": st.column_config.TextColumn(width="large"),
                                f"v{b}": st.column_config.TextColumn(width="large")})


def diff_panel(layer: str, rows: list) -> None:
    numbers = [row.version for row in rows]
    if len(numbers) < 2:
        st.info("Save a second version of this layer to compare versions.", icon=":material/difference:")
        return
    left, right, view = st.columns([1, 1, 2], vertical_alignment="bottom")
    a = left.selectbox("Compare", numbers, index=1, key=key(layer, "diff-a"), format_func=lambda v: f"v{v}")
    b = right.selectbox("with", numbers, index=0, key=key(layer, "diff-b"), format_func=lambda v: f"v{v}")
    mode = view.segmented_control("View", ["Side by side", "Unified"], default="Side by side", key=key("diff-mode"))
    with runtime.session() as session:
        diff = diff_versions(session, clone.id, layer, a, b)
    if diff.identical:
        st.caption(f"v{a} and v{b} are identical.")
        return
    st.caption(f"{plural(diff.added, 'line')} added · {plural(diff.removed, 'line')} removed (changed lines are highlighted)")
    if mode == "Unified":
        st.code(diff.unified, language="diff")
    else:
        side_by_side(diff, a, b)


# ---------------------------------------------------------------- variants, playground, A/B


def variant_options(layer: str, rows: list) -> dict:
    """Option -> label for a variant picker: the active version, the editor's draft, or any saved version."""
    active = next(row.version for row in rows if row.active)
    options = {ACTIVE: f"Active (v{active})", DRAFT: "Draft in the editor"}
    options.update({row.version: f"v{row.version} · {row.message}" for row in rows})
    return options


def variant_for(layer: str, picked, label: str):
    option, retrieval = picked
    choice = {}
    if option == DRAFT:
        choice[layer] = st.session_state.get(key(layer, "draft"), "")
    elif option != ACTIVE:
        choice[layer] = int(option)
    with runtime.session() as session:
        return make_variant(session, clone, choice, label, retrieval)


def variant_pickers(layer: str, rows: list, prefix: str) -> tuple:
    """Two variants: a version (or the draft) of the layer, and retrieval settings that may differ from the clone's."""
    options = variant_options(layer, rows)
    picked = []
    for column, side, index in zip(st.columns(2), "AB", (0, 1)):
        with column:
            option = st.selectbox(f"Variant {side}", list(options), index=index, format_func=options.__getitem__,
                                  key=key(prefix, layer, side.lower()))
            with st.expander("Retrieval settings", icon=":material/manage_search:"):
                retrieval = retrieval_settings(clone, key=key(prefix, side.lower(), "retrieval"))
            overrides = {name: value for name, value in retrieval.items() if value != getattr(clone, name)}
            picked.append(((option, overrides), f"{side}: {options[option]}{retrieval_label(overrides)}"))
    return tuple(picked)


def retrieval_label(overrides: dict) -> str:
    """" · top k 3 · hybrid off · min 0.40" for the settings a variant changes."""
    parts = {"top_k": lambda v: f"top k {v}", "hybrid": lambda v: "hybrid " + ("on" if v else "off"),
             "min_score": lambda v: f"min {v:.2f}"}
    return "".join(f" · {parts[name](value)}" for name, value in overrides.items())


def meta_caption(meta: dict) -> None:
    tokens = (meta.get("input_tokens") or 0, meta.get("output_tokens") or 0)
    answer_meta(meta.get("provider"), meta.get("model"), meta.get("total_ms"), meta.get("cost_usd"), {
        "Found passages in": fmt_ms(meta.get("retrieval_ms")),
        "First words after": fmt_ms(meta.get("first_token_ms")),
        "Tokens": f"{tokens[0]:,} in → {tokens[1]:,} out" if any(tokens) else "",
    })
    if meta.get("error"):
        st.error(escape_md(meta["error"]), icon=":material/error:")


def answer_column(column, title: str, text: str, meta: dict) -> None:
    with column.container(border=True):
        st.markdown(f"**{escape_md(title)}**")
        st.markdown(model_markdown(text) if text else "*No answer.*")
        meta_caption(meta)


def stream_column(column, title: str, stream) -> dict:
    with column.container(border=True):
        st.markdown(f"**{escape_md(title)}**")
        write_stream(stream)
        result = stream.result
        meta_caption(result.meta())
    return {"text": result.text, "meta": result.meta()}


def playground(layer: str, rows: list) -> None:
    st.caption(f"Ask one question of two variants of the {LAYER_LABELS[layer]} layer (the other layers use their "
               "active versions). Both answer from the same retrieved sources, unless their retrieval settings differ.")
    offline_prompts_note(clone, compact=True)
    (a, label_a), (b, label_b) = variant_pickers(layer, rows, "play")
    with st.form(key("play-form"), border=False):
        question = st.text_input("Question", placeholder="Ask something this clone should know")
        asked = st.form_submit_button("Compare", type="primary", icon=":material/compare_arrows:")
    stored = key("play-result")
    if asked:
        try:
            comparison = compare(runtime, clone.id, question, variant_for(layer, a, label_a),
                                 variant_for(layer, b, label_b))
        except StudioError as error:
            st.error(escape_md(str(error)), icon=":material/error:")
            return
        st.caption(f"{plural(len(comparison.sources), 'source')} retrieved in {fmt_ms(comparison.retrieval_ms)}")
        left, right = st.columns(2)
        result_a = stream_column(left, label_a, comparison.a)
        result_b = stream_column(right, label_b, comparison.b)
        st.session_state[stored] = {"question": comparison.question, "labels": (label_a, label_b),
                                    "a": result_a, "b": result_b,
                                    "sources": [{**s.__dict__} for s in comparison.sources],
                                    "sources_b": None if comparison.shared else
                                    [{**s.__dict__} for s in comparison.sources_b]}
        shared_sources(st.session_state[stored]["sources"], st.session_state[stored]["sources_b"])
    elif result := st.session_state.get(stored):
        st.caption(f"Last question: {escape_md(result['question'])}")
        left, right = st.columns(2)
        answer_column(left, result["labels"][0], result["a"]["text"], result["a"]["meta"])
        answer_column(right, result["labels"][1], result["b"]["text"], result["b"]["meta"])
        shared_sources(result["sources"], result.get("sources_b"))


def shared_sources(sources: list[dict], sources_b: list[dict] | None = None) -> None:
    """The passages both variants answered from; each variant's own when their retrieval settings differ."""
    if sources_b is not None:
        for side, side_sources in (("A", sources), ("B", sources_b)):
            with st.expander(f"{side}'s sources · {plural(len(side_sources), 'passage')}",
                             icon=":material/manage_search:"):
                sources_table(side_sources) if side_sources else st.caption("No passages matched.")
        return
    with st.expander(f"Shared sources · {plural(len(sources), 'passage')}", icon=":material/manage_search:"):
        if sources:
            sources_table(sources)
        else:
            st.caption("No passages matched; both variants answered without sources.")


def question_sets_panel() -> None:
    with runtime.session() as session:
        sets = list_question_sets(session, clone.id)
    names = {"": "New question set", **{s.id: f"{s.name} · {plural(len(s.questions), 'question')}" for s in sets}}
    if key("qs-next") in st.session_state:  # set after a save or delete, applied before the widget exists
        st.session_state[key("qs-pick")] = st.session_state.pop(key("qs-next"))
    chosen = st.selectbox("Question set", list(names), format_func=names.__getitem__, key=key("qs-pick"))
    current = next((s for s in sets if s.id == chosen), None)
    with st.form(key("qs-form", chosen or "new"), border=False):
        name = st.text_input("Name", value=current.name if current else "", placeholder="e.g. Onboarding questions")
        text = st.text_area("Questions, one per line", value="\n".join(current.questions) if current else "", height=200)
        save = st.form_submit_button("Save question set", type="primary", icon=":material/save:")
    if save:
        try:
            with runtime.session() as session:
                if current:
                    update_question_set(session, current.id, name=name, questions=parse_questions(text))
                else:
                    created = create_question_set(session, clone.id, name, parse_questions(text))
                    st.session_state[key("qs-next")] = created.id
            state.flash(f"Saved the question set {' '.join(name.split())}.")
        except StudioError as error:
            fail(error)
        st.rerun()
    if current and st.button("Delete question set", key=key("qs-delete"), icon=":material/delete:", type="tertiary"):
        with runtime.session() as session:
            delete_question_set(session, current.id)
        st.session_state[key("qs-next")] = ""
        state.flash(f"Deleted the question set {current.name}.")
        st.rerun()


def start_run(layer: str, rows: list) -> None:
    with runtime.session() as session:
        sets = list_question_sets(session, clone.id)
    if not sets:
        st.info("Create a question set first (in the Question sets tab), then run it under two variants.",
                icon=":material/quiz:")
        return
    offline_prompts_note(clone, compact=True)
    st.caption(f"Ask every question of a set under two variants of the {LAYER_LABELS[layer]} layer; "
               "each question's sources are shared by both.")
    names = {s.id: f"{s.name} · {plural(len(s.questions), 'question')}" for s in sets}
    set_id = st.selectbox("Question set to run", list(names), format_func=names.__getitem__, key=key("ab-set"))
    (a, label_a), (b, label_b) = variant_pickers(layer, rows, "ab")
    if st.button("Run A/B", key=key("ab-run"), type="primary", icon=":material/play_arrow:"):
        progress = st.progress(0.0, text="Starting…")
        try:
            run = run_ab(runtime, clone.id, set_id, variant_for(layer, a, label_a), variant_for(layer, b, label_b),
                         on_result=lambda done, total, _: progress.progress(done / total, text=f"{done} of {total} questions"))
            st.session_state[key("ab-pick")] = run.id
            state.flash("The A/B run is complete; mark a winner for each question.")
        except StudioError as error:
            fail(error)
        st.rerun()


def pick_winner(result_id: str, winner: str | None) -> None:
    with runtime.session() as session:
        mark_winner(session, result_id, winner)


def run_view() -> None:
    with runtime.session() as session:
        runs = list_runs(session, clone.id)
    if not runs:
        return
    labels = {run.id: f"{fmt_ago(run.created_at)} · {run.variant_a.get('label', 'A')} vs "
                      f"{run.variant_b.get('label', 'B')} · {run.status}" for run in runs}
    if st.session_state.get(key("ab-pick")) not in labels:
        st.session_state[key("ab-pick")] = runs[0].id
    st.divider()
    run_id = st.selectbox("A/B run", list(labels), format_func=labels.__getitem__, key=key("ab-pick"))
    with runtime.session() as session:
        run, results, counts = get_run(session, run_id), run_results(session, run_id), tally(session, run_id)
    columns = st.columns(4)
    for column, (label, value) in zip(columns, (("A wins", counts.a), ("B wins", counts.b), ("Ties", counts.tie),
                                                ("Undecided", counts.undecided))):
        column.metric(label, value)
    totals = run_totals(results)
    st.caption(" · ".join(
        f"{side.upper()}: mean {fmt_ms(t['mean_total_ms'])}" + (f", ${t['cost_usd']:.4f}" if t["cost_usd"] else "")
        for side, t in totals.items()
    ))
    for result in results:
        result_card(run, result)


def result_card(run, result) -> None:
    with st.container(border=True):
        st.markdown(f"**Q{result.position + 1}. {escape_md(result.question)}**")
        left, right = st.columns(2)
        answer_column(left, run.variant_a.get("label", "A"), result.answer_a, result.meta_a)
        answer_column(right, run.variant_b.get("label", "B"), result.answer_b, result.meta_b)
        verdicts = {"a": "A is better", "tie": "Tie", "b": "B is better"}
        with st.container(horizontal=True):
            for winner in ("a", "tie", "b"):
                st.button(verdicts[winner], key=f"win-{result.id}-{winner}",
                          type="primary" if result.winner == winner else "secondary",
                          on_click=pick_winner, args=(result.id, None if result.winner == winner else winner))
            if result.winner in WINNERS:
                st.caption(f"Verdict: {verdicts[result.winner]}")
        shared_sources(result.sources, (result.meta_b or {}).get("sources"))


# ---------------------------------------------------------------- layout

head, export = st.columns([5, 1], vertical_alignment="bottom")
with head:
    clone_header(clone, "Shape how this clone thinks and speaks: versioned prompt layers, compared side by side.")
export.download_button(
    "Export clone", data=lambda: export_bundle(runtime, clone.id), file_name=bundle_filename(clone),
    mime="application/zip", on_click="ignore", icon=":material/download:", width="stretch",
    help="One file with this clone's settings, every prompt version, question sets and original files.",
)
with st.container():  # one slot, so the elements below keep their place whether or not a message shows
    state.show_flashes()

layer = st.segmented_control("Layer", LAYERS, default="system", format_func=LAYER_LABELS.__getitem__,
                             key=key("layer"), required=True) or "system"
rows = versions_of(layer)
ensure_draft(layer, rows)
with runtime.session() as session:
    active_rows = active_prompts(session, clone.id)
counts = token_counts({name: row.content for name, row in active_rows.items()})
st.caption("Active versions: " + " · ".join(
    f"{LAYER_LABELS[name]} v{active_rows[name].version} ({plural(counts[name], 'token')})" for name in LAYERS
))

offline_prompts_note(clone)
edit, past, play, suites, runs = st.tabs(list(TABS.values()), key="prompts.tab", on_change="rerun")
if edit.open:
    with edit:
        editor(layer, rows)
        variables_panel()
        template_panel()
if past.open:
    with past:
        history_panel(layer, rows)
        st.subheader("Diff", anchor=False)
        diff_panel(layer, rows)
if play.open:
    with play:
        playground(layer, rows)
if suites.open:
    with suites:
        question_sets_panel()
if runs.open:
    with runs:
        start_run(layer, rows)
        run_view()
