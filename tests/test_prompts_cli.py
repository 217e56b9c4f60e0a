"""`python -m core prompts …`, `templates list`, `clones create --template`, `clones export/import`."""
from __future__ import annotations

import json

import pytest

from core.cli import main


@pytest.fixture
def cli(settings, capsys):
    """Run the command line in-process on the test's data directory; returns (code, stdout, stderr)."""

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_templates_list(cli):
    code, out, _ = cli("templates", "list")
    assert code == 0 and "family-memory-keeper" in out and "cbt-coach" in out
    code, out, _ = cli("templates", "list", "--json", "--category", "Wellbeing")
    listed = json.loads(out)
    assert {t["id"] for t in listed} == {"empathetic-listener", "cbt-coach", "dbt-skills-coach", "mindfulness-guide"}
    assert all(set(t["prompts"]) == {"system", "rag", "user"} for t in listed)


def test_create_from_template_then_version_the_prompts(cli, tmp_path):
    code, out, _ = cli("clones", "create", "Skye", "--template", "customer-support-agent")
    assert code == 0 and "from the template customer-support-agent" in out

    code, out, _ = cli("prompts", "list", "--clone", "Skye", "--json")
    layers = json.loads(out)["layers"]
    assert [v["version"] for v in layers["system"]] == [1] and layers["system"][0]["active"]
    assert "customer support agent for {{ company_name }}" in layers["system"][0]["content"]

    edited = tmp_path / "system.txt"
    edited.write_text("You are {{ clone_name }} for {{ company_name }}.\nAlways greet the customer.\n")
    code, out, _ = cli("prompts", "save", "--clone", "skye", "--layer", "system", "--file", edited, "-m", "Greet first")
    assert code == 0 and "Saved system v2" in out and "not active" in out

    code, out, _ = cli("prompts", "diff", "--clone", "Skye", "--layer", "system", 1, 2)
    assert code == 0 and out.startswith("--- system v1\n+++ system v2") and "+Always greet the customer." in out

    code, out, _ = cli("prompts", "activate", "--clone", "Skye", "--layer", "system", "--version", 2)
    assert code == 0 and "now answers with system v2" in out
    code, out, _ = cli("prompts", "list", "--clone", "Skye")
    assert "* v2" in out and "  v1" in out and "Greet first" in out

    code, out, _ = cli("ask", "--clone", "Skye", "--json", "Hello?")
    assert json.loads(out)["prompt_versions"] == {"system": 2, "rag": 1, "user": 1}


def test_prompt_errors_are_one_line(cli, tmp_path):
    cli("clones", "create", "Rae")
    bad = tmp_path / "rag.txt"
    bad.write_text("Use the documents.")
    code, out, err = cli("prompts", "save", "--clone", "Rae", "--layer", "rag", "--file", bad, "-m", "x")
    assert code == 1 and err.startswith("error: The RAG layer must contain the {{ sources }} slot") and "Traceback" not in err
    code, _, err = cli("prompts", "activate", "--clone", "Rae", "--layer", "user", "--version", 4)
    assert code == 1 and "no version 4" in err
    code, _, err = cli("prompts", "save", "--clone", "Rae", "--layer", "user", "--file", tmp_path / "nope.txt", "-m", "x")
    assert code == 1 and "There is no file at" in err
    code, _, err = cli("clones", "create", "Tam", "--template", "no-such-template")
    assert code == 1 and "no template called 'no-such-template'" in err


def test_export_and_import_a_bundle(cli, tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# Tides\n\nHigh tide at the harbour is at six in the morning.\n")
    cli("clones", "create", "Tide Keeper")
    assert cli("ingest", "--clone", "Tide Keeper", notes)[0] == 0
    bundle = tmp_path / "tide.clone.zip"
    code, out, _ = cli("clones", "export", "Tide Keeper", "--out", bundle)
    assert code == 0 and bundle.is_file() and "Exported Tide Keeper" in out
    code, out, _ = cli("clones", "import", bundle)
    assert code == 0 and "Imported Tide Keeper (2)" in out
    code, out, _ = cli("ask", "--clone", "Tide Keeper (2)", "--json", "When is high tide?")
    answer = json.loads(out)
    assert answer["citations"][0]["document"] == "notes.md" and "six in the morning" in answer["answer"]

    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    code, _, err = cli("clones", "import", junk)
    assert code == 1 and "not a Clone Studio bundle" in err
