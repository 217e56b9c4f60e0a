"""New clone: a short wizard. How to start -> template (or the clone to copy) -> customise -> review -> create."""
import pandas as pd
import streamlit as st

from core.bundles import import_bundle
from core.clones import create_clone, list_clones
from core.errors import StudioError
from core.lifecycle import create_from_template, duplicate_clone, unique_name
from core.prompts import LAYER_LABELS, LAYERS, check_variable_names
from core.template_library import categories, get_template, list_templates, preview
from studio import state
from studio.runtime import owner_runtime
from studio.text import escape_md, plural

STEPS = ("method", "source", "customise", "review")
STEP_TITLES = {"method": "How to start", "source": "Starting point", "customise": "Customise", "review": "Review"}
AVATARS = ["🤖", "🧠", "🦉", "🧑‍🏫", "👩‍⚕️", "🧑‍💼", "🧑‍🔬", "🎨", "📚", "🧘", "💡", "🛠️", "🌱", "🦊", "👵", "🚀"]
ALL = "All categories"
COLUMNS = 3
WIZARD = "wizard.new_clone"

runtime = owner_runtime()
state.clone_picker(runtime)


def answers() -> dict:
    return st.session_state.setdefault(WIZARD, {"step": "method"})


def goto(step: str, **values) -> None:
    answers().update(values, step=step, error=None)


def restart() -> None:
    st.session_state[WIZARD] = {"step": "method"}


def humanize(name: str) -> str:
    return name.replace("_", " ").capitalize()


def template_or_none(template_id):
    if not template_id:
        return None
    with runtime.session() as session:
        return get_template(template_id, session)


# ---------------------------------------------------------------- step 1: how to start


def method_step() -> None:
    choices = (
        ("scratch", ":material/edit: From scratch", "A blank clone with the default prompts: name it, add your "
         "documents, and shape how it speaks later on the Prompts page.", "customise"),
        ("template", ":material/auto_awesome: From a template", "Pick a ready-made persona (mentor, support agent, "
         "family-memory keeper…) with prompts and settings ready to make your own.", "source"),
        ("duplicate", ":material/content_copy: Duplicate a clone", "Copy an existing clone's prompts with their "
         "history, settings and question sets; its knowledge too, if you like.", "source"),
        ("import", ":material/upload_file: Import a bundle", "Recreate a clone from a bundle file exported from a "
         "studio: prompts with history, settings, question sets and files.", "source"),
    )
    for column, (method, title, text, step) in zip(st.columns(len(choices)), choices):
        with column.container(border=True, height="stretch"):
            st.markdown(f"#### {title}")
            st.caption(text)
            st.button("Choose", key=f"method-{method}", type="primary" if method == "scratch" else "secondary",
                      on_click=goto, args=(step,), kwargs={"method": method}, width="stretch")


# ---------------------------------------------------------------- step 2: template or clone to copy


def use_template(template_id: str) -> None:
    template = template_or_none(template_id)
    goto("customise", template_id=template.id, name="", description=template.description, avatar=template.icon,
         variables=dict(template.variables), settings=dict(template.settings))
    state.close_dialog()


@st.dialog("Template preview", width="large", on_dismiss=state.close_dialog)
def preview_dialog(template_id: str) -> None:
    template = template_or_none(template_id)
    st.markdown(f"### {template.icon} {escape_md(template.name)}")
    st.caption(f"{escape_md(template.category)} · {escape_md(template.specialty)}")
    st.markdown(escape_md(template.description))
    st.markdown(f"**Best for:** {escape_md(template.best_for)}")
    st.caption("Tags: " + ", ".join(escape_md(tag) for tag in template.tags))
    if template.variables:
        st.dataframe(pd.DataFrame({"Variable": list(template.variables), "Default": list(template.variables.values())}),
                     hide_index=True, width="stretch")
    prompt_tabs(preview(template, "Your clone"))
    if st.button("Use this template", key="preview-use", type="primary"):
        use_template(template.id)
        st.rerun()  # closes the dialog


def prompt_tabs(rendered: dict) -> None:
    for tab, layer in zip(st.tabs([LAYER_LABELS[layer] for layer in LAYERS]), LAYERS):
        with tab:
            st.code(rendered[layer], language="text", wrap_lines=True)


def template_card(template) -> None:
    with st.container(border=True, height="stretch"):
        st.markdown(f"#### {template.icon} {escape_md(template.name)}")
        st.caption(escape_md(template.category) + ("" if template.builtin else " · yours"))
        st.markdown(escape_md(template.description))
        st.caption(f"Best for: {escape_md(template.best_for)}")
        with st.container(horizontal=True):
            st.button("Use this template", key=f"use-{template.id}", type="primary", on_click=use_template,
                      args=(template.id,))
            if st.button("Preview", key=f"preview-{template.id}", icon=":material/visibility:"):
                state.open_dialog("template-preview", template_id=template.id)
                st.rerun()


def template_step() -> None:
    search, category = st.columns([3, 1])
    query = search.text_input("Search templates", placeholder="e.g. support, grief, sales, meditation")
    with runtime.session() as session:
        chosen = category.selectbox("Category", [ALL, *categories(session)])
        templates = list_templates(session, query=query, category=None if chosen == ALL else chosen)
    st.caption(plural(len(templates), "template"))
    if not templates:
        st.info("No template matches; try another word or category.", icon=":material/search_off:")
    for row in range(0, len(templates), COLUMNS):
        for column, template in zip(st.columns(COLUMNS), templates[row:row + COLUMNS]):
            with column:
                template_card(template)


def duplicate_step() -> None:
    with runtime.session() as session:
        clones = list_clones(session)
    if not clones:
        st.info("There are no clones to copy yet; start from a template instead.", icon=":material/info:")
        return
    labels = {clone.id: f"{clone.avatar} {clone.name}" for clone in clones}
    source = st.selectbox("Clone to copy", list(labels), format_func=labels.__getitem__)
    if st.button("Next", type="primary", icon=":material/arrow_forward:"):
        with runtime.session() as session:
            name = unique_name(session, next(c.name for c in clones if c.id == source))
        goto("customise", source_id=source, name=name, knowledge=False)
        st.rerun()


def import_step() -> None:
    with st.form("import-form", border=False):
        upload = st.file_uploader("Clone bundle (.zip)", type=["zip"], max_upload_size=runtime.settings.max_upload_mb,
                                  help="A file made with Export on the Prompts page or `python -m core clones export`.")
        submitted = st.form_submit_button("Import clone", type="primary", icon=":material/upload_file:")
    if not submitted:
        return
    if upload is None:
        st.error("Choose a bundle file first.", icon=":material/error:")
        return
    try:
        clone = import_bundle(runtime, upload.getvalue(), wait=False)
    except StudioError as error:
        st.error(escape_md(str(error)), icon=":material/error:")
        return
    restart()
    state.flash(f"Imported {clone.name}; its files are being indexed again.")
    state.go(state.PAGE_KNOWLEDGE, clone.id)


# ---------------------------------------------------------------- step 3: customise


def name_problem(name: str) -> str | None:
    name = " ".join(name.split())
    if not name:
        return "Give the clone a name."
    with runtime.session() as session:
        if unique_name(session, name) != name:
            return f"You already have a clone called '{name}'; choose another name."
    return None


def customise_step() -> None:
    data = answers()
    template = template_or_none(data.get("template_id"))
    with st.form("customise", border=False):
        name = st.text_input("Name", value=data.get("name", ""), max_chars=80, placeholder="e.g. Nana Rose")
        values = {}
        if data["method"] == "duplicate":
            knowledge = st.checkbox("Copy its knowledge too (the files are indexed again)", value=data.get("knowledge", False))
        else:
            description = st.text_area("Description", value=data.get("description", ""), height=80)
            avatar = st.pills("Avatar", list(dict.fromkeys([data.get("avatar", "🤖"), *AVATARS])),
                              default=data.get("avatar", "🤖"))
            if template and template.variables:
                st.markdown("**Variables**")
                st.caption("Words the template's prompts fill in; change them to fit your clone.")
                for variable, default in template.variables.items():
                    values[variable] = st.text_input(humanize(variable), value=data["variables"].get(variable, default),
                                                     key=f"var-{variable}")
            settings = settings_inputs(data.get("settings") or {})
        submitted = st.form_submit_button("Next: review", type="primary", icon=":material/arrow_forward:")
    if not submitted:
        return
    problem = name_problem(name)
    if problem is None and values:
        try:
            check_variable_names(values)
        except StudioError as error:
            problem = str(error)
    if problem:
        st.error(escape_md(problem), icon=":material/error:")
        return
    if data["method"] == "duplicate":
        goto("review", name=" ".join(name.split()), knowledge=knowledge)
    else:
        goto("review", name=" ".join(name.split()), description=description.strip(), avatar=avatar or "🤖",
             variables=values, settings=settings)
    st.rerun()


def settings_inputs(current: dict) -> dict:
    st.markdown("**Settings**")
    left, middle, right = st.columns(3)
    return {
        "temperature": left.slider("Creativity (temperature)", 0.0, 2.0, float(current.get("temperature", 0.3)), 0.1),
        "max_tokens": middle.number_input("Longest answer (tokens)", 50, 8000, int(current.get("max_tokens", 700)), 50),
        "top_k": right.slider("Sources per answer", 1, 20, int(current.get("top_k", 5))),
    }


# ---------------------------------------------------------------- step 4: review and create


def review_step() -> None:
    data = answers()
    template = template_or_none(data.get("template_id"))
    facts = {"Name": data["name"]}
    if data["method"] == "duplicate":
        with runtime.session() as session:
            source = next((c for c in list_clones(session) if c.id == data["source_id"]), None)
        facts["Copy of"] = source.name if source else "(deleted)"
        facts["Knowledge"] = "copied and indexed again" if data["knowledge"] else "not copied"
    else:
        facts.update({"Avatar": data["avatar"], "Description": data["description"] or "—",
                      "Template": template.name if template else "none (default prompts)"})
        facts.update({humanize(k): str(v) for k, v in (data.get("variables") or {}).items()})
        facts.update({"Temperature": str(data["settings"]["temperature"]),
                      "Longest answer": f"{data['settings']['max_tokens']} tokens",
                      "Sources per answer": str(data["settings"]["top_k"])})
    st.dataframe(pd.DataFrame({"Setting": list(facts), "Value": list(facts.values())}), hide_index=True, width="stretch")
    if template:
        st.markdown("**The prompts your clone will start with**")
        try:
            prompt_tabs(preview(template, data["name"], data["description"], data["variables"]))
        except StudioError as error:
            st.error(escape_md(str(error)), icon=":material/error:")
    if data.get("error"):
        st.error(escape_md(data["error"]), icon=":material/error:")
    if st.button("Create clone", type="primary", icon=":material/check:"):
        create(data)


def create(data: dict) -> None:
    try:
        if data["method"] == "duplicate":
            clone = duplicate_clone(runtime, data["source_id"], data["name"], knowledge=data["knowledge"])
        elif data.get("template_id"):
            clone = create_from_template(runtime, data["name"], data["template_id"], description=data["description"],
                                         avatar=data["avatar"], variables=data["variables"], settings=data["settings"])
        else:
            clone = create_clone(runtime, data["name"], data["description"], data["avatar"], **data["settings"])
    except StudioError as error:
        data["error"] = str(error)
        st.rerun()
    restart()
    state.flash(f"{clone.name} is ready. Give it some knowledge, then chat with it.")
    state.go(state.PAGE_KNOWLEDGE, clone.id)


# ---------------------------------------------------------------- layout

st.title("New clone", anchor=False)
data = answers()
step = data["step"]
position = STEPS.index(step)
st.caption(" → ".join(f"**{STEP_TITLES[s]}**" if s == step else STEP_TITLES[s] for s in STEPS))
st.progress((position + 1) / len(STEPS))
state.show_flashes()

if step == "method":
    method_step()
elif step == "source" and data.get("method") == "duplicate":
    duplicate_step()
elif step == "source" and data.get("method") == "import":
    import_step()
elif step == "source":
    template_step()
elif step == "customise":
    customise_step()
else:
    review_step()

if step != "method":
    back = {"source": "method", "customise": "method" if data.get("method") == "scratch" else "source",
            "review": "customise"}[step]
    with st.container(horizontal=True):
        st.button("Back", icon=":material/arrow_back:", on_click=goto, args=(back,))
        st.button("Start over", type="tertiary", on_click=restart)

if (payload := state.dialog("template-preview")) is not None:
    preview_dialog(**payload)
