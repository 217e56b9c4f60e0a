"""Checks questions.json against docs/: every evidence phrase is in its document and in no other.

Matching rule (as in the development set): collapse whitespace, ignore case, substring.
Run: python3 check_questions.py
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent


def norm(text):
    return " ".join(text.split()).lower()


def main():
    docs = {p.name: norm(p.read_text()) for p in (HERE / "docs").iterdir()}
    questions = json.loads((HERE / "questions.json").read_text())
    failed = 0
    for q in questions:
        problems = []
        if q.get("unanswerable"):
            problems += [] if "note" in q else ["unanswerable question without a note"]
        elif q["doc"] not in docs:
            problems.append(f"no document {q['doc']}")
        else:
            for phrase in q["evidence"]:
                found = [name for name, text in docs.items() if norm(phrase) in text]
                if found != [q["doc"]]:
                    problems.append(f"{phrase!r} found in {found}")
        failed += bool(problems)
        print(("FAIL " if problems else "ok   ") + q["id"], "; ".join(problems))
    print(f"{len(questions) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
