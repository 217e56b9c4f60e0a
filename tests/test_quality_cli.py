"""`python -m core eval import|suites|run` as CI runs them: JSON shape, exit 1 under --min-pass, plain errors."""
from __future__ import annotations

import json

from core.cli import main
from core.clones import create_clone
from core.knowledge.ingest import ingest_now
from core.runtime import open_runtime
from tests.test_cli import cli  # noqa: F401  (the subprocess fixture)

NOTES = b"# Supplies\n\nParaffin is delivered by boat on the first Monday of each month.\n"
CASES = [
    {"question": "When is paraffin delivered?", "must_contain": ["first Monday"],
     "expected_source": {"document": "supplies.md"}},
    {"question": "What is the keeper's favourite opera?", "should_refuse": True},
    {"question": "How is paraffin delivered?", "must_contain": ["by helicopter"]},  # known bad
]


def run_here(capsys, *args: str):
    """The command in this process (fast); returns (exit code, stdout, stderr)."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_eval_import_suites_and_run(cli, settings, tmp_path, capsys):  # noqa: F811
    runtime = open_runtime(settings, seed_demo=False)
    try:
        clone = create_clone(runtime, "Keeper")
        ingest_now(runtime, clone.id, "supplies.md", NOTES)
    finally:
        runtime.close()
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps(CASES))
    code, out, err = run_here(capsys, "eval", "import", "--clone", "Keeper", "--suite", "Smoke", str(cases))
    assert code == 0 and out.strip() == "Imported 3 cases into 'Smoke'.", err

    bad = tmp_path / "bad.csv"
    bad.write_text("prompt\nhello\n")
    code, _, err = run_here(capsys, "eval", "import", "--clone", "Keeper", "--suite", "Smoke", str(bad))
    assert code == 1 and err.strip() == "error: This CSV has no 'question' column; the first row must name the columns."

    _, out, _ = run_here(capsys, "eval", "suites", "--clone", "Keeper", "--json")
    assert [(s["name"], s["cases"], s["drafts"]) for s in json.loads(out)] == [("Smoke", 3, 0)]

    gated = cli("eval", "run", "--clone", "Keeper", "--suite", "smoke", "--system", "1", "--json", "--min-pass", "0.8")
    assert gated.returncode == 1, gated.stderr
    assert gated.stderr.strip() == "error: the pass rate 67% is under --min-pass 80%."
    report = json.loads(gated.stdout)
    assert set(report) >= {"run_id", "cases", "pass_rate", "scores"} and report["pass_rate"] == 2 / 3
    first = report["cases"][0]
    assert set(first) >= {"question", "answer", "passed", "scores", "citations"} and first["passed"] is True
    assert "first Monday" in first["answer"] and first["citations"][0]["document"] == "supplies.md"
    assert first["scores"]["must_contain"] == {"score": 1.0, "passed": True, "reason": "Mentions all 1: 'first Monday'."}
    assert [c["passed"] for c in report["cases"]] == [True, True, False]

    code, out, err = run_here(capsys, "eval", "run", "--clone", "Keeper", "--suite", "Smoke", "--min-pass", "0.5")
    assert code == 0, err
    assert "[1/3] PASS  When is paraffin delivered?" in out
    assert "FAIL  How is paraffin delivered?\n      must_contain: Mentions 0 of 1; missing 'by helicopter'." in out
    assert "Smoke: 2/3 passed (67%)" in out

    code, _, err = run_here(capsys, "eval", "run", "--clone", "Keeper", "--suite", "Nope")
    assert code == 1 and err.strip() == "error: This clone has no test suite called 'Nope' (its suites: 'Smoke')."
