import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.clones import create_clone
from core.knowledge.ingest import ingest_now, list_documents
from tests.data.pdfs import encrypted_pdf, text_pdf

ROOT = Path(__file__).resolve().parent.parent


def run_cli(settings, *args):
    env = {**os.environ, "CLONE_STUDIO_HOME": str(settings.home), "DATABASE_URL": settings.database_url,
           "LANCEDB_URI": settings.lancedb_uri, "CLONE_STUDIO_MAX_UPLOAD_MB": str(settings.max_upload_mb)}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def clone(runtime):
    return create_clone(runtime, "Field Guide")


def test_ingest_prints_one_line_per_file_and_fails_if_any_failed(runtime, settings, clone, tmp_path):
    guide = tmp_path / "guide.pdf"
    guide.write_bytes(text_pdf(["Owls hunt at night.", "Herons wait in shallow water for fish."]))
    notes = tmp_path / "notes.md"
    notes.write_text("# Owls\n\nBarn owls nest in old barns.\n")
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(encrypted_pdf())
    word = tmp_path / "memo.docx"
    word.write_bytes(b"PK\x03\x04")
    done = run_cli(settings, "ingest", "--clone", "field guide", str(guide), str(notes), str(locked), str(word))
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "ready   guide.pdf: 2 chunks, 2 pages",
        "ready   notes.md: 1 chunks",
        'failed  locked.pdf: "locked.pdf" is password-protected; remove the password and upload it again.',
        'failed  memo.docx: "memo.docx" is a .docx file, which the knowledge base cannot read; upload a PDF, .txt or .md file.',
    ]
    assert sorted((d.filename, d.status) for d in list_documents(runtime, clone.id)) == [
        ("guide.pdf", "ready"), ("locked.pdf", "failed"), ("notes.md", "ready"),
    ]
    again = run_cli(settings, "ingest", "--clone", clone.id, str(notes))
    assert again.returncode == 1
    assert again.stdout.strip() == 'failed  notes.md: "notes.md" is already in the knowledge base as "notes.md".'


def test_search_json(runtime, settings, clone):
    data = text_pdf(["Owls hunt at night.", "Herons wait in shallow water for fish."])
    assert ingest_now(runtime, clone.id, "guide.pdf", data).status == "ready"  # this process writes, the CLI reads
    done = run_cli(settings, "search", "--clone", "Field Guide", "--k", "1", "--json", "which", "bird", "stands", "in", "water?")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    first = data["results"][0]
    assert len(data["results"]) == 1
    assert {k: first[k] for k in ("n", "document", "page", "text")} == {
        "n": 1, "document": "guide.pdf", "page": 2, "text": "Herons wait in shallow water for fish."}
    # the inspector fields say why it won: both legs ranked it first, fused and reranked scores
    assert (first["vector_rank"], first["text_rank"]) == (1, 1)
    assert first["fused"] == round(2 / 61, 6) and first["rerank"] > first["score"] > 0
    assert 0 < data["results"][0]["score"] <= 1
    assert {"embed", "vector", "fulltext", "fuse", "total"} <= set(data["timings_ms"])
