"""Hostile upload names never choose where the bytes go: every accepted file lands at
files/<clone>/<document id>.<ext>, its shown name is one clean line, and nothing appears
anywhere else on disk."""
from __future__ import annotations

import os
import unicodedata

import pytest

from core.clones import create_clone
from core.errors import IngestError
from core.knowledge.ingest import add_text, ingest_now, list_documents, stored_file

HOSTILE = [
    "../../../escape.md", "..\\..\\..\\escape.md", "/etc/passwd.md", "C:\\Windows\\system.ini.md",
    "~/.bashrc.md", "....//....//escape.md", "%2e%2e%2fescape.md", "file:///etc/hosts.md",
    "notes\x00.md", "notes.md\x00.exe", "\x00", "a\nb\r\nc.md", "tab\tname.md", "\x1b[31mred.md",
    "a" * 5000 + ".md", ("é" * 3000) + ".md", ".md", ".", "..", "...", " ",
    "evil\u202egpj.md", "..\u2215..\u2215escape.md", "..\uff0f..\uff0fescape.md", "zero\u200bwidth.md",
    "e\u0301\u0301\u0301.md", "CON.md", "name.md/", "dir/", "\ud83d\ude00 emoji.md",
]




@pytest.mark.parametrize("name", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_a_hostile_name_never_escapes_the_files_directory(runtime, tmp_path, name):
    clone = create_clone(runtime, "Gatekeeper")
    before = _files_outside(runtime, tmp_path)
    body = f"# Notes\n\nA harmless note filed under a hostile name {HOSTILE.index(name)}.".encode()
    try:
        document = ingest_now(runtime, clone.id, name, body)
    except IngestError as error:  # a refusal is fine, as long as it is one plain sentence
        assert str(error) and "\n" not in str(error)
        assert list_documents(runtime, clone.id) == []
    else:
        path = stored_file(runtime, document).resolve()
        assert path.parent == (runtime.settings.files_dir / clone.id).resolve()
        assert path.name.split(".")[0] == document.id and path.exists()
        _assert_clean_name(document.filename)
    assert _files_outside(runtime, tmp_path) == before
    assert all(p.parent.parent == runtime.settings.files_dir for p in runtime.settings.files_dir.rglob("*") if p.is_file())


def test_a_hostile_title_for_pasted_text_is_just_a_name(runtime, tmp_path):
    clone = create_clone(runtime, "Paster")
    document = add_text(runtime, clone.id, "../../../../tmp/pasted\x00\n.md", "# Pasted\n\nSome pasted words.")
    _assert_clean_name(document.filename)
    assert stored_file(runtime, document).parent == runtime.settings.files_dir / clone.id
    assert runtime.worker.wait_idle(60)


def _assert_clean_name(name: str) -> None:
    assert name and len(name) <= 200
    assert "/" not in name and "\\" not in name and name not in (".", "..")
    assert not any(unicodedata.category(ch)[0] == "C" for ch in name), repr(name)


def _files_outside(runtime, tmp_path) -> set[str]:
    """Every file under the test's temp directory, except the studio's own stores."""
    keep = (runtime.settings.files_dir, runtime.settings.home / "lancedb")
    found = set()
    for root, _, files in os.walk(tmp_path):
        if any(root.startswith(str(k)) for k in keep):
            continue
        found.update(os.path.join(root, f) for f in files if not f.startswith("studio.db"))
    return found
