"""Clone bundles: export -> import round trip, and refusal of corrupt, foreign, newer or hostile files."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from core.bundles import FORMAT, FORMAT_VERSION, MANIFEST, BundleError, export_bundle, import_bundle, read_bundle
from core.clones import create_clone, delete_clone, list_clones
from core.errors import IngestError
from core.knowledge.ingest import add_text, ingest_now, list_documents
from core.knowledge.search import retrieve
from core.lifecycle import duplicate_clone, wait_indexed
from core.models import Clone
from core.prompts import active_versions, history_records, save_version
from core.question_sets import create_question_set, list_question_sets
from core.template_library import apply_template, save_as_template

QUESTIONS = ["How wide is the telescope mirror?", "When is paraffin delivered?", "Who polished the mirror?"]
NOTES = (
    "# Lighthouse log\n\nThe Skerry Point keeper winds the clockwork every four hours.\n\n"
    "# Supplies\n\nParaffin is delivered by boat on the first Monday of each month.\n"
)


def observatory_pdf() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for lines in (["The Marlow Hill Observatory", "Visitors climb ninety steps to the dome."],
                  ["The telescope mirror is 3.2 metres wide.", "Ingrid Halvorsen polished it by hand until 1962."]):
        for i, line in enumerate(lines):
            pdf.drawString(72, 780 - 22 * i, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.fixture
def ada(runtime):
    clone = create_clone(runtime, "Ada", "Keeps records.", "🦉", temperature=0.7, top_k=4, hybrid=True,
                         tts_voice="joe", voice_settings={"speed": 1.1, "stability": 0.4}, language="en",
                         tags=["records"], category="Support")
    apply_template(runtime, clone.id, "general-assistant", {"tone": "precise"})
    with runtime.session() as session:
        save_version(session, clone.id, "system", "You are {{ clone_name }}; be {{ tone }}.", "tone", author="maria",
                     activate=True)
        save_version(session, clone.id, "rag", "Sources:\n{{ sources }}", "shorter rag")
        create_question_set(session, clone.id, "Facts", QUESTIONS)
    ingest_now(runtime, clone.id, "observatory.pdf", observatory_pdf())
    ingest_now(runtime, clone.id, "lighthouse.md", NOTES.encode())
    add_text(runtime, clone.id, "Pasted notes", "The lamp uses a Fresnel lens made in 1874.")
    assert wait_indexed(runtime, 300)
    with runtime.session() as session:
        return session.get(Clone, clone.id)


def retrieval_of(runtime, clone, question):
    return [(s.n, s.document, s.page, s.text, round(s.score, 4)) for s in retrieve(runtime, clone, question).sources]


def documents_of(runtime, clone):
    return sorted((d.filename, d.kind, d.sha256, d.status, d.pages, d.chunk_count)
                  for d in list_documents(runtime, clone.id))


def settings_of(clone):
    skip = {"id", "slug", "created_at", "updated_at", "last_used_at", "created_from", "name"}
    return {k: v for k, v in clone.model_dump().items() if k not in skip}


def test_round_trip_keeps_prompts_settings_documents_and_retrieval(runtime, ada):
    data = export_bundle(runtime, ada.id)
    copy = import_bundle(runtime, data)

    assert copy.id != ada.id and copy.name == "Ada (2)" and copy.created_from == "import"
    assert settings_of(copy) == settings_of(ada)
    assert (copy.voice_settings, copy.tts_voice, copy.template_id) == ({"speed": 1.1, "stability": 0.4}, "joe", "general-assistant")
    with runtime.session() as session:
        assert history_records(session, copy.id) == history_records(session, ada.id)
        assert active_versions(session, copy.id) == {"system": 3, "rag": 2, "user": 1}  # the template kept the user text
        assert [(s.name, s.questions) for s in list_question_sets(session, copy.id)] == [("Facts", QUESTIONS)]
    assert documents_of(runtime, copy) == documents_of(runtime, ada)
    assert {d.filename for d in list_documents(runtime, copy.id)} == {"observatory.pdf", "lighthouse.md", "Pasted notes"}
    for question in QUESTIONS:
        assert retrieval_of(runtime, copy, question) == retrieval_of(runtime, ada, question)


def test_import_into_a_studio_without_the_original_keeps_the_name(runtime, ada):
    data = export_bundle(runtime, ada.id)
    delete_clone(runtime, ada.id)
    assert import_bundle(runtime, data).name == "Ada"
    assert import_bundle(runtime, data).name == "Ada (2)"


def test_a_user_template_travels_with_the_bundle(runtime, ada):
    template = save_as_template(runtime, ada.id, "Record keeper")
    apply_template(runtime, ada.id, template.id)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(export_bundle(runtime, ada.id))).read(MANIFEST))
    assert manifest["template"]["id"] == template.id
    assert manifest["template"]["user_template"]["name"] == "Record keeper"


def test_duplicate_with_knowledge_reindexes_the_files(runtime, ada):
    copy = duplicate_clone(runtime, ada.id, knowledge=True, wait=True)
    assert documents_of(runtime, copy) == documents_of(runtime, ada)
    assert retrieval_of(runtime, copy, QUESTIONS[0]) == retrieval_of(runtime, ada, QUESTIONS[0])


# ---------------------------------------------------------------- refusals


def rebuild(data: bytes, change=None, extra: dict[str, bytes] | None = None) -> bytes:
    """The bundle with its manifest edited by `change` and extra members added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(source.read(MANIFEST))
    if change:
        change(manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr(MANIFEST, json.dumps(manifest))
        for info in source.infolist():
            if info.filename != MANIFEST:
                target.writestr(info.filename, source.read(info.filename))
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return out.getvalue()


@pytest.fixture
def bundle(runtime):
    clone = create_clone(runtime, "Bea")
    ingest_now(runtime, clone.id, "notes.md", NOTES.encode())
    return export_bundle(runtime, clone.id)


def clone_ids(runtime) -> set[str]:
    with runtime.session() as session:
        return {clone.id for clone in list_clones(session)}


def refused(runtime, data, match):
    before = clone_ids(runtime)
    with pytest.raises(BundleError, match=match):
        import_bundle(runtime, data)
    assert clone_ids(runtime) == before


def test_bundle_reads_back(runtime, bundle):
    read = read_bundle(bundle, runtime.settings.max_upload_bytes)
    assert read.manifest["format"] == FORMAT and read.manifest["format_version"] == FORMAT_VERSION
    assert list(read.files.values()) == [NOTES.encode()]


def test_not_a_zip_or_empty(runtime):
    refused(runtime, b"%PDF-1.4 hello", "not a zip file")
    refused(runtime, b"", "empty")


def test_foreign_zip_without_manifest(runtime):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("files/readme.txt", "hello")
    refused(runtime, out.getvalue(), "no manifest")


def test_foreign_format(runtime, bundle):
    refused(runtime, rebuild(bundle, lambda m: m.update(format="something-else")), "not a Clone Studio bundle")


def test_newer_format(runtime, bundle):
    refused(runtime, rebuild(bundle, lambda m: m.update(format_version=FORMAT_VERSION + 1)), "newer Clone Studio")


@pytest.mark.parametrize("version", [0, "1", None, True])
def test_unknown_format_version(runtime, bundle, version):
    refused(runtime, rebuild(bundle, lambda m: m.update(format_version=version)), "format version is unknown")


def test_unreadable_manifest(runtime):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(MANIFEST, "{not json")
    refused(runtime, out.getvalue(), "damaged")


def test_checksum_mismatch(runtime, bundle):
    def swap(manifest):
        manifest["documents"][0]["sha256"] = "0" * 64

    refused(runtime, rebuild(bundle, swap), "does not match its checksum")


def test_missing_file(runtime, bundle):
    def point_elsewhere(manifest):
        manifest["documents"][0]["file"] = "files/99.md"

    refused(runtime, rebuild(bundle, point_elsewhere), "missing")


def test_damaged_prompt_history(runtime, bundle):
    def two_active(manifest):
        manifest["prompts"].append({"layer": "system", "version": 9, "content": "x", "active": True})

    refused(runtime, rebuild(bundle, two_active), "exactly one active")


def test_truncated_zip(runtime, bundle):
    refused(runtime, bundle[: len(bundle) // 2], "not a zip file|damaged")


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "files/../../x.md", "files\\x.md", "other/x.md"])
def test_path_traversal_is_refused(runtime, bundle, name):
    refused(runtime, rebuild(bundle, extra={name: b"x"}), "unexpected path")


def test_zip_bomb_is_refused(runtime, bundle):
    refused(runtime, rebuild(bundle, extra={"files/bomb.txt": b"\0" * (4 * 1024 * 1024)}), "zip bomb")


def test_oversized_member_is_refused(runtime, bundle):
    big = bytes(range(256)) * (runtime.settings.max_upload_bytes // 256 + 1)
    refused(runtime, rebuild(bundle, extra={"files/big.txt": big}), "larger than the studio accepts")


def test_failed_indexing_refusal_removes_the_half_made_clone(runtime, bundle):
    def not_a_pdf(manifest):
        manifest["documents"][0]["kind"] = "pdf"
        manifest["documents"][0]["filename"] = "notes.pdf"

    before = clone_ids(runtime)
    with pytest.raises(IngestError, match="notes.pdf"):
        import_bundle(runtime, rebuild(bundle, not_a_pdf))
    assert clone_ids(runtime) == before
