"""Knowledge: the documents a clone answers from. Upload or paste, watch them get ready, search them."""
import streamlit as st

from core.errors import StudioError
from core.knowledge.ingest import delete_document, list_documents
from core.knowledge.search import retrieve
from studio import state
from studio.components import clone_header, confirm_delete, document_row, knowledge_summary, passage_row
from studio.relevance import relevant_passages
from studio.runtime import first_use, owner_runtime
from studio.text import escape_md, fmt_ms, plural
from studio.uploads import add_pasted, add_uploads

REFRESH_SECONDS = 1.5
LIST_HEIGHT = 440
runtime = owner_runtime()
clone = state.require_clone(runtime)
refused_key = f"knowledge.refused.{clone.id}"  # files this clone refused on the last try


def add_panel() -> None:
    upload, paste = st.tabs([":material/upload_file: Upload files", ":material/edit_note: Paste text"])
    with upload, st.form("upload-form", clear_on_submit=True, border=False):
        files = st.file_uploader(
            "PDF, .txt or .md files", accept_multiple_files=True,
            max_upload_size=runtime.settings.max_upload_mb,
            help=f"Up to {runtime.settings.max_upload_mb} MB each. Drop several at once.",
        )
        if st.form_submit_button("Add to knowledge", type="primary", icon=":material/add:"):
            upload_files(files or [])
    with paste, st.form("paste-form", clear_on_submit=True, border=False):
        title = st.text_input("Title", placeholder="e.g. Meeting notes, 3 March")
        text = st.text_area("Text", height=180, placeholder="Paste the text this clone should know.")
        if st.form_submit_button("Add text", type="primary", icon=":material/add:"):
            outcome = add_pasted(runtime, clone.id, title, text)
            st.session_state[refused_key] = [] if outcome.accepted else [outcome]
    for outcome in st.session_state.get(refused_key, []):
        named = outcome.filename in outcome.message
        st.error(("" if named else f"**{escape_md(outcome.filename)}**: ") + escape_md(outcome.message), icon=":material/block:")


def searching() -> str:
    if (clone.embedding_provider or "minilm") == "minilm":
        return first_use("embedder", "the offline search model", "Searching…")
    return "Searching…"


def forget_refusals() -> None:
    """The last upload's refusals are for that upload: the next action clears them."""
    st.session_state.pop(refused_key, None)


def upload_files(files) -> None:
    if not files:
        st.warning("Choose one or more files first, then add them.", icon=":material/upload_file:")
        return
    outcomes = add_uploads(runtime, clone.id, [(f.name, f.getvalue()) for f in files])
    st.session_state[refused_key] = [o for o in outcomes if not o.accepted]
    if accepted := [o for o in outcomes if o.accepted]:
        st.toast(f"Added {plural(len(accepted), 'file')}; processing now.", icon=":material/hourglass_top:")


def documents_panel() -> None:
    busy = any(d.status == "processing" for d in list_documents(runtime, clone.id))

    @st.fragment(run_every=REFRESH_SECONDS if busy else None)
    def documents() -> None:
        docs = list_documents(runtime, clone.id)
        st.caption(knowledge_summary(docs))
        if any(d.status == "processing" for d in docs) and searching() != "Searching…":
            st.caption(":material/hourglass_top: Loading the offline search model, first time only; "
                       "processing starts in a few seconds.")
        if not docs:
            st.info("No documents yet. Upload files or paste text, and this clone will answer from them.", icon=":material/info:")
        listing = st.container(height=LIST_HEIGHT if len(docs) > 4 else "content", border=False)
        for document in docs:
            with listing.container(border=True):
                actions = document_row(document)
                if actions.button("Delete", key=f"delete-{document.id}", icon=":material/delete:", type="tertiary",
                                  on_click=forget_refusals):
                    state.open_dialog("delete-document", document_id=document.id, filename=document.filename)
                    st.rerun()
        if busy and not any(d.status == "processing" for d in docs):
            st.rerun()  # everything finished: refresh the page once and stop polling

    documents()


@st.dialog("Delete document", on_dismiss=state.close_dialog)
def delete_dialog(document_id: str, filename: str) -> None:
    st.markdown(f"Delete **{escape_md(filename)}** from {escape_md(clone.name)}'s knowledge?")
    st.caption("Its passages stop being used in answers. Past answers keep their citations.")
    confirm_delete("Delete document", lambda: delete_document(runtime, document_id), f"Deleted {filename}.")


def search_panel() -> None:
    st.subheader("Try a search", anchor=False)
    st.caption(f"See which passages {escape_md(clone.name)} would use to answer, and how relevant each one is.")
    query = st.text_input("Question", placeholder="Ask something your documents answer", label_visibility="collapsed",
                          on_change=forget_refusals)
    if not query.strip():
        return
    try:
        with st.spinner(searching()):
            result = retrieve(runtime, clone, query)
    except StudioError as error:
        st.error(escape_md(str(error)), icon=":material/error:")
        return
    found = relevant_passages(result.sources, clone.min_score)
    if not found.shown:
        st.info("Nothing relevant in this clone's documents for that question. Try other words, or add a "
                "document that covers it.", icon=":material/search_off:")
    for source in found.shown:
        passage_row(source)
    if found.weak:
        st.caption(f"{len(found.weak)} weaker {'match' if len(found.weak) == 1 else 'matches'} "
                   f"(relevance under {found.bar:.2f}) not shown.")
    st.caption(f"Searched in {fmt_ms(result.timings_ms.get('total'))}.")


clone_header(clone, "Knowledge: the documents this clone answers from, with the page each passage came from.")
state.show_flashes()
left, right = st.columns([3, 2], gap="large")
with right:
    st.subheader("Add knowledge", anchor=False)
    add_panel()
with left:
    st.subheader("Documents", anchor=False)
    documents_panel()
st.divider()
search_panel()

if (payload := state.dialog("delete-document")) is not None:
    delete_dialog(**payload)
