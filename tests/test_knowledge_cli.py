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


# ---------------------------------------------------------------- batch mode (in process: one model load)


def _main(capsys, *args):
    from core.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def guide(runtime, clone):
    assert ingest_now(runtime, clone.id, "guide.md", b"# Owls\n\nBarn owls hunt at night.\n\n# Herons\n\n"
                      b"Herons wait in shallow water for fish.").status == "ready"
    return clone


def test_ask_answers_every_question_of_a_file_as_json_lines(guide, tmp_path, capsys):
    questions = tmp_path / "questions.txt"
    questions.write_text("# my questions\nWhen do barn owls hunt?\n\nWhere do herons wait for fish?\n")
    code, out, err = _main(capsys, "ask", "--clone", "Field Guide", "--questions", str(questions), "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["question"] for line in lines] == ["When do barn owls hunt?", "Where do herons wait for fish?"]
    assert "night" in lines[0]["answer"] and "shallow water" in lines[1]["answer"]
    assert all(line["status"] == "complete" and any(c["cited"] for c in line["citations"]) for line in lines)
    assert lines[0]["thread_id"] != lines[1]["thread_id"]  # each question is its own chat


def test_search_runs_every_question_of_a_file_with_the_inspector_fields(guide, tmp_path, capsys):
    questions = tmp_path / "q.txt"
    questions.write_text("herons\nbarn owls at night\n")
    code, out, err = _main(capsys, "search", "--clone", "Field Guide", "--k", "2", "--questions", str(questions), "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["query"] for line in lines] == ["herons", "barn owls at night"]
    assert lines[0]["results"][0]["heading"] == "Herons" and lines[1]["results"][0]["heading"] == "Owls"
    assert {"vector_rank", "text_rank", "fused", "rerank"} <= set(lines[0]["results"][0])


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.txt", "does not exist"),
    (lambda d: (d / "empty.txt").write_text("\n# only a comment\n") and d / "empty.txt", "holds no questions"),
    (lambda d: d, "is a folder"),
    (lambda d: (d / "bin.txt").write_bytes(b"\xff\xfe\x00bad") and d / "bin.txt", "not UTF-8"),
])
def test_a_bad_questions_file_is_one_plain_error(guide, tmp_path, capsys, make, message):
    for command in ("ask", "search"):
        code, out, err = _main(capsys, command, "--clone", "Field Guide", "--questions", str(make(tmp_path)), "--json")
        assert code == 1 and out == "" and message in err and "Traceback" not in err


def test_a_question_and_a_questions_file_together_are_refused(guide, tmp_path, capsys):
    questions = tmp_path / "q.txt"
    questions.write_text("herons\n")
    code, _, err = _main(capsys, "ask", "--clone", "Field Guide", "--questions", str(questions), "owls?")
    assert code == 1 and "either a question or --questions" in err
    code, _, err = _main(capsys, "search", "--clone", "Field Guide")
    assert code == 1 and "Give a question" in err


def test_a_command_imports_only_its_own_group():
    import subprocess

    code = ("import sys; from core.cli import build_parser; build_parser(['search', '--clone', 'x', 'q']); "
            "print(sorted(m for m in sys.modules if m.startswith('core.cli.')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "['core.cli.batch', 'core.cli.knowledge']", done.stderr
