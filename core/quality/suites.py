"""Test suites: a clone's cases (question + expectations), their settings, CSV/JSON import and export.

The file form (JSON) is a list of objects with `question` and optionally `must_contain` (list),
`must_not_contain` (list), `regex` (str), `expected_source` ({"document": name, "page": int}),
`should_refuse` (bool) and `reference` (str). CSV has the same columns; lists are separated by
`|` and `expected_source` is written `name` or `name#page`.
"""
from __future__ import annotations

import csv
import io
import json
import re

from sqlmodel import Session, select

from core.owners import resolve
from core.errors import InvalidInput, NotFound
from core.models import Clone, TestCase, TestSuite, utcnow

MAX_CASES = 500
MAX_QUESTION_CHARS = 2000
MAX_FILE_BYTES = 2 * 1024 * 1024
STATUSES = ("active", "draft")
COLUMNS = ("question", "must_contain", "must_not_contain", "regex", "expected_source", "should_refuse", "reference")
DEFAULT_SETTINGS = {"judge": "auto", "k": 1, "latency_ms": None, "cost_usd": None, "grounded_threshold": 0.5,
                    "similarity_threshold": 0.6}


# ---------------------------------------------------------------- suites


def suite_settings(suite: TestSuite) -> dict:
    return {**DEFAULT_SETTINGS, **(suite.settings or {})}


def list_suites(session: Session, clone_id: str, owner_id: str | None = None) -> list[TestSuite]:
    owner_id = resolve(session, owner_id)
    query = select(TestSuite).where(TestSuite.clone_id == clone_id, TestSuite.owner_id == owner_id)
    return list(session.exec(query.order_by(TestSuite.created_at, TestSuite.name)).all())


def get_suite(session: Session, suite_id: str, owner_id: str | None = None) -> TestSuite:
    owner_id = resolve(session, owner_id)
    suite = session.get(TestSuite, suite_id)
    if suite is None or suite.owner_id != owner_id:
        raise NotFound("That test suite no longer exists; pick another one.")
    return suite


def find_suite(session: Session, clone_id: str, ref: str, owner_id: str | None = None) -> TestSuite:
    """A suite of the clone by id or name (case-insensitive)."""
    owner_id = resolve(session, owner_id)
    ref = " ".join(str(ref or "").split())
    suites = list_suites(session, clone_id, owner_id)
    for suite in suites:
        if suite.id == ref or suite.name.lower() == ref.lower():
            return suite
    names = ", ".join(f"'{s.name}'" for s in suites) or "none yet"
    raise NotFound(f"This clone has no test suite called '{ref}' (its suites: {names}).")


def _clean_name(session: Session, clone_id: str, name: str, owner_id: str, except_id: str | None = None) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise InvalidInput("Give the test suite a name, then save again.")
    if len(name) > 120:
        raise InvalidInput("Keep the suite's name under 120 characters.")
    for other in list_suites(session, clone_id, owner_id):
        if other.id != except_id and other.name.lower() == name.lower():
            raise InvalidInput(f"This clone already has a test suite called '{name}'; choose another name.")
    return name


def create_suite(session: Session, clone_id: str, name: str, cases=(), settings: dict | None = None,
                 owner_id: str | None = None) -> TestSuite:
    owner_id = resolve(session, owner_id)
    clone = session.get(Clone, clone_id)
    if clone is None or clone.owner_id != owner_id:
        raise NotFound("That clone no longer exists; pick another one.")
    rows = clean_cases(cases, allow_empty=True)
    suite = TestSuite(owner_id=owner_id, clone_id=clone_id, name=_clean_name(session, clone_id, name, owner_id),
                      settings=clean_settings(settings or {}))
    session.add(suite)
    session.flush()
    _add(session, suite, rows, "active", start=0)
    session.commit()
    session.refresh(suite)
    return suite


def rename_suite(session: Session, suite_id: str, name: str, owner_id: str | None = None) -> TestSuite:
    owner_id = resolve(session, owner_id)
    suite = get_suite(session, suite_id, owner_id)
    suite.name = _clean_name(session, suite.clone_id, name, owner_id, except_id=suite.id)
    return _touch(session, suite)


def update_settings(session: Session, suite_id: str, settings: dict, owner_id: str | None = None) -> TestSuite:
    owner_id = resolve(session, owner_id)
    suite = get_suite(session, suite_id, owner_id)
    suite.settings = clean_settings({**(suite.settings or {}), **settings})
    return _touch(session, suite)


def clean_settings(settings: dict) -> dict:
    out = {}
    for key, value in settings.items():
        if key not in DEFAULT_SETTINGS:
            continue
        if key == "judge":
            value = str(value or "").strip() or "auto"
            if value not in ("auto", "none") and ":" not in value:
                raise InvalidInput("Write the judge as provider:model (for example openai:gpt-4o-mini), "
                                   "'auto' or 'none'.")
        elif key == "k":
            value = _int(value, "The judge's repeats")
            if not 1 <= value <= 5:
                raise InvalidInput("Judge each case between 1 and 5 times.")
        elif value is None or value == "":
            value = None
        else:
            value = _number(value, key.replace("_", " "))
            if key.endswith("threshold") and not 0 <= value <= 1:
                raise InvalidInput("Thresholds are between 0 and 1.")
            if value < 0:
                raise InvalidInput("Ceilings cannot be negative.")
        out[key] = value
    return out


def delete_suite(session: Session, suite_id: str, owner_id: str | None = None) -> None:
    owner_id = resolve(session, owner_id)
    session.delete(get_suite(session, suite_id, owner_id))
    session.commit()


def _touch(session: Session, suite: TestSuite) -> TestSuite:
    suite.updated_at = utcnow()
    session.add(suite)
    session.commit()
    session.refresh(suite)
    return suite


# ---------------------------------------------------------------- cases


def suite_cases(session: Session, suite_id: str, status: str | None = "active",
                owner_id: str | None = None) -> list[TestCase]:
    owner_id = resolve(session, owner_id)
    query = select(TestCase).where(TestCase.suite_id == suite_id, TestCase.owner_id == owner_id)
    if status:
        query = query.where(TestCase.status == status)
    return list(session.exec(query.order_by(TestCase.position, TestCase.created_at)).all())


def replace_cases(session: Session, suite_id: str, rows, owner_id: str | None = None) -> list[TestCase]:
    """Save the table editor: the suite's active cases become exactly `rows` (drafts stay).

    A row that carries the `id` of an existing case updates it in place; the others are new.
    """
    owner_id = resolve(session, owner_id)
    suite = get_suite(session, suite_id, owner_id)
    cleaned = clean_cases(rows, allow_empty=True)
    existing = {case.id: case for case in suite_cases(session, suite.id, "active", owner_id)}
    kept = set()
    for position, row in enumerate(cleaned):
        case = existing.get(row.pop("id", None) or "")
        if case is None:
            case = TestCase(owner_id=owner_id, suite_id=suite.id, question=row["question"])
        kept.add(case.id)
        for key, value in row.items():
            setattr(case, key, value)
        case.position, case.status = position, "active"
        session.add(case)
    for case_id, case in existing.items():
        if case_id not in kept:
            session.delete(case)
    _touch(session, suite)
    return suite_cases(session, suite.id, "active", owner_id)


def add_cases(session: Session, suite_id: str, rows, status: str = "active",
              owner_id: str | None = None) -> list[TestCase]:
    """Append cases (an import, or drafts) after the suite's current ones."""
    owner_id = resolve(session, owner_id)
    suite = get_suite(session, suite_id, owner_id)
    cleaned = clean_cases(rows)
    current = suite_cases(session, suite.id, None, owner_id)
    if len(current) + len(cleaned) > MAX_CASES:
        raise InvalidInput(f"A suite holds at most {MAX_CASES} cases; split it or delete some first.")
    added = _add(session, suite, cleaned, status, start=max((c.position for c in current), default=-1) + 1)
    _touch(session, suite)
    return added


def _add(session: Session, suite: TestSuite, rows: list[dict], status: str, start: int) -> list[TestCase]:
    if status not in STATUSES:
        raise InvalidInput("A case is active or a draft.")
    added = []
    for offset, row in enumerate(rows):
        row.pop("id", None)
        case = TestCase(owner_id=suite.owner_id, suite_id=suite.id, position=start + offset, status=status, **row)
        session.add(case)
        added.append(case)
    return added


def get_case(session: Session, case_id: str, owner_id: str | None = None) -> TestCase:
    owner_id = resolve(session, owner_id)
    case = session.get(TestCase, case_id)
    if case is None or case.owner_id != owner_id:
        raise NotFound("That test case no longer exists.")
    return case


def accept_draft(session: Session, case_id: str, edits: dict | None = None, owner_id: str | None = None) -> TestCase:
    """A person accepts a drafted case (optionally edited): it counts from now on."""
    owner_id = resolve(session, owner_id)
    case = get_case(session, case_id, owner_id)
    if edits:
        (row,) = clean_cases([{**case_record(case), **edits}])
        for key, value in row.items():
            setattr(case, key, value)
    case.status = "active"
    session.add(case)
    session.commit()
    session.refresh(case)
    return case


def delete_case(session: Session, case_id: str, owner_id: str | None = None) -> None:
    owner_id = resolve(session, owner_id)
    session.delete(get_case(session, case_id, owner_id))
    session.commit()


# ---------------------------------------------------------------- validation


def clean_cases(rows, allow_empty: bool = False) -> list[dict]:
    """Check rows (dicts in the file form or the table's form); the error names the row."""
    rows = list(rows or [])
    if not rows and not allow_empty:
        raise InvalidInput("There are no test cases to add; write at least one question.")
    if len(rows) > MAX_CASES:
        raise InvalidInput(f"A suite holds at most {MAX_CASES} cases; split the file into smaller suites.")
    cleaned, seen = [], set()
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise InvalidInput(f"Case {n} is not an object with a question; each case needs at least 'question'.")
        case = _clean_case(row, n)
        if case["question"].lower() in seen:
            raise InvalidInput(f"Case {n} repeats the question '{case['question'][:40]}'; keep one of them.")
        seen.add(case["question"].lower())
        cleaned.append(case)
    return cleaned


def _clean_case(row: dict, n: int) -> dict:
    question = " ".join(str(row.get("question") or "").split())
    if not question:
        raise InvalidInput(f"Case {n} has no question; fill it in or delete the row.")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"Case {n}'s question is too long; keep it under {MAX_QUESTION_CHARS} characters.")
    source = row.get("expected_source")
    document, page = row.get("expected_document"), row.get("expected_page")
    if isinstance(source, dict):
        document, page = source.get("document"), source.get("page")
    elif isinstance(source, str) and source.strip():
        document, page = _split_source(source)
    elif source not in (None, ""):
        raise InvalidInput(f"Case {n}'s expected_source must be an object like {{\"document\": \"guide.pdf\", \"page\": 3}}.")
    regex = str(row.get("regex") or "").strip()
    if regex:
        try:
            re.compile(regex)
        except re.error as error:
            raise InvalidInput(f"Case {n}'s regex is not a valid pattern ({error}).") from None
    case = {
        "question": question,
        "must_contain": _phrases(row.get("must_contain"), n, "must_contain"),
        "must_not_contain": _phrases(row.get("must_not_contain"), n, "must_not_contain"),
        "regex": regex,
        "expected_document": (" ".join(str(document).split()) or None) if document not in (None, "") else None,
        "expected_page": _page(page, n),
        "should_refuse": _bool(row.get("should_refuse"), n),
        "reference": str(row.get("reference") or "").strip(),
    }
    if case["expected_page"] is not None and not case["expected_document"]:
        raise InvalidInput(f"Case {n} has an expected page but no document; name the document too.")
    if row.get("id"):
        case["id"] = str(row["id"])
    return case


def _split_source(text: str) -> tuple[str, int | None]:
    name, sep, page = text.strip().rpartition("#")
    if sep and page.strip().isdigit():
        return name.strip(), int(page)
    return text.strip(), None


def _phrases(value, n: int, field: str) -> list[str]:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        value = value.split("|")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int, float)) for v in value):
        raise InvalidInput(f"Case {n}'s {field} must be a list of phrases.")
    return list(dict.fromkeys(p for p in (" ".join(str(v).split()) for v in value) if p))


def _page(value, n: int) -> int | None:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    try:
        page = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        page = None
    if page is None or page < 1:
        raise InvalidInput(f"Case {n}'s expected page must be a whole number from 1.")
    return page


def _bool(value, n: int) -> bool:
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, float) and value != value):
        return False
    text = str(value).strip().lower()
    if text in ("", "0", "false", "no", "n"):
        return False
    if text in ("1", "true", "yes", "y"):
        return True
    raise InvalidInput(f"Case {n}'s should_refuse must be true or false.")


def _int(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be a whole number.") from None


def _number(value, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"The {what} must be a number.") from None


# ---------------------------------------------------------------- files


def case_record(case: TestCase) -> dict:
    """A case in the file form (JSON)."""
    record: dict = {"question": case.question}
    if case.must_contain:
        record["must_contain"] = list(case.must_contain)
    if case.must_not_contain:
        record["must_not_contain"] = list(case.must_not_contain)
    if case.regex:
        record["regex"] = case.regex
    if case.expected_document:
        record["expected_source"] = {"document": case.expected_document}
        if case.expected_page is not None:
            record["expected_source"]["page"] = case.expected_page
    if case.should_refuse:
        record["should_refuse"] = True
    if case.reference:
        record["reference"] = case.reference
    return record


def export_json(cases) -> str:
    return json.dumps([case_record(case) for case in cases], ensure_ascii=False, indent=2)


def export_csv(cases) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for case in cases:
        source = case.expected_document or ""
        if source and case.expected_page is not None:
            source = f"{source}#{case.expected_page}"
        writer.writerow({
            "question": case.question, "must_contain": "|".join(case.must_contain),
            "must_not_contain": "|".join(case.must_not_contain), "regex": case.regex, "expected_source": source,
            "should_refuse": "true" if case.should_refuse else "false", "reference": case.reference,
        })
    return out.getvalue()


def parse_file(data: bytes, filename: str) -> list[dict]:
    """Cases from an uploaded .csv or .json file; one plain sentence when the file is unusable."""
    name = str(filename or "").lower()
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"This file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it into smaller suites.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("This file is not UTF-8 text; save it as UTF-8 CSV or JSON and import it again.") from None
    if name.endswith(".json"):
        return clean_cases(_parse_json(text))
    if name.endswith(".csv"):
        return clean_cases(_parse_csv(text))
    raise InvalidInput("Import a .csv or .json file of test cases.")


def _parse_json(text: str) -> list:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"This file is not valid JSON (line {error.lineno}); fix it and import it again.") from None
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        data = data["cases"]
    if not isinstance(data, list):
        raise InvalidInput("This JSON file must be a list of test cases, each an object with a 'question'.")
    return data


def _parse_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "question" not in header:
        raise InvalidInput("This CSV has no 'question' column; the first row must name the columns.")
    unknown = [h for h in header if h and h not in COLUMNS + ("expected_document", "expected_page")]
    if unknown:
        raise InvalidInput(f"This CSV has a column the studio does not know ('{unknown[0]}'); "
                           f"use {', '.join(COLUMNS)}.")
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            if None in row:
                raise InvalidInput(f"Row {reader.line_num} of this CSV has more cells than columns; "
                                   "quote cells that contain commas.")
            if any((v or "").strip() for v in row.values()):
                rows.append({k: (v or "").strip() for k, v in row.items()})
    except csv.Error as error:
        raise InvalidInput(f"This CSV is malformed near line {reader.line_num} ({error}).") from None
    return rows


# ---------------------------------------------------------------- copies (duplicate, bundles)


def suite_records(session: Session, clone_id: str, owner_id: str | None = None) -> list[dict]:
    """Every suite of a clone in the file form, drafts apart: what a duplicate or a bundle carries."""
    owner_id = resolve(session, owner_id)
    return [{"name": suite.name, "settings": dict(suite.settings or {}),
             "cases": [case_record(c) for c in suite_cases(session, suite.id, "active", owner_id)],
             "drafts": [case_record(c) for c in suite_cases(session, suite.id, "draft", owner_id)]}
            for suite in list_suites(session, clone_id, owner_id)]


def restore_suites(session: Session, clone: Clone, records: list[dict]) -> None:
    """Add suites from `suite_records` to a clone (no commit: part of the caller's transaction)."""
    for record in records:
        suite = TestSuite(owner_id=clone.owner_id, clone_id=clone.id, name=" ".join(str(record["name"]).split()),
                          settings=clean_settings(record.get("settings") or {}))
        session.add(suite)
        session.flush()
        active = clean_cases(record.get("cases") or [], allow_empty=True)
        drafts = clean_cases(record.get("drafts") or [], allow_empty=True)
        _add(session, suite, active, "active", start=0)
        _add(session, suite, drafts, "draft", start=len(active))
