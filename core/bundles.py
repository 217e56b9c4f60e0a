"""Clone bundles: one zip file with a clone's settings, every prompt version, question sets and original files.

Layout: `manifest.json` (format name + version, clone settings, prompts, template reference, voice
settings, question sets, document list with sha256) and `files/<n><ext>` for each original file.
Reading never extracts to disk: entries are read into memory within size limits, names are
checked against the manifest, and every file's hash must match.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from core.clones import create_clone, delete_clone, get_clone
from core.errors import InvalidInput, StudioError
from core.lifecycle import (
    COPIED_FIELDS, add_original, clone_settings, documents_of, unique_name, wait_indexed,
)
from core.owners import resolve
from core.models import Clone, UserTemplate, utcnow
from core.prompts import check_history, history_records, replace_history
from core.quality.suites import clean_cases, clean_settings, restore_suites, suite_records
from core.template_library import USER_PREFIX, template_from_data

FORMAT = "clone-studio-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SUFFIX = ".clone.zip"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 2000
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for entries over 1 MiB
DOCUMENT_KINDS = ("pdf", "text", "markdown")
VOICE_FIELDS = ("tts_provider", "tts_voice", "voice_settings", "stt_provider", "language")


class BundleError(InvalidInput):
    """A file that cannot be imported as a clone; the message says why."""


def _corrupt(detail: str) -> BundleError:
    return BundleError(f"This bundle is damaged ({detail}); export the clone again and import the new file.")


# ---------------------------------------------------------------- export


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime) else value


def build_manifest(runtime, clone_id: str) -> tuple[dict, list[tuple[str, Path]]]:
    """The manifest and the (archive name, stored path) of every original file."""
    from core.knowledge.ingest import stored_file

    with runtime.session() as session:
        clone = get_clone(session, clone_id)
        prompts = [{k: _jsonable(v) for k, v in record.items()} for record in history_records(session, clone_id)]
        suites = suite_records(session, clone_id, clone.owner_id)
        # question_sets: the plain form older studios read (suites carry the full cases)
        question_sets = [{"name": s["name"], "questions": [c["question"] for c in s["cases"]]} for s in suites]
        documents, files = [], []
        for n, document in enumerate(documents_of(session, clone_id), start=1):
            path = stored_file(runtime, document)
            if not path.is_file():
                continue
            member = f"files/{n}{path.suffix.lower()}"
            files.append((member, path))
            documents.append({
                "file": member, "filename": document.filename, "kind": document.kind,
                "size": path.stat().st_size, "sha256": _sha256(path.read_bytes()),
            })
        template = _template_reference(session, clone)
    settings = {name: value for name, value in clone_settings(clone).items() if name not in VOICE_FIELDS}
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "exported_at": utcnow().isoformat(),
        "clone": {"name": clone.name, "description": clone.description, "avatar": clone.avatar,
                  "created_from": clone.created_from, "settings": settings},
        "voice": {name: getattr(clone, name) for name in VOICE_FIELDS},
        "template": template, "prompts": prompts, "question_sets": question_sets, "suites": suites,
        "documents": documents,
    }
    return manifest, files


def _template_reference(session, clone: Clone) -> dict | None:
    if not clone.template_id:
        return None
    reference = {"id": clone.template_id}
    if clone.template_id.startswith(USER_PREFIX):
        row = session.get(UserTemplate, clone.template_id[len(USER_PREFIX):])
        if row is not None and row.owner_id == clone.owner_id:
            reference["user_template"] = {"name": row.name, "data": row.data}
    return reference


def export_bundle(runtime, clone_id: str) -> bytes:
    """The clone as one zip file's bytes."""
    manifest, files = build_manifest(runtime, clone_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
        for member, path in files:
            archive.write(path, member)
    return buffer.getvalue()


def bundle_filename(clone: Clone) -> str:
    return f"{clone.slug}{SUFFIX}"


def write_bundle(runtime, clone_id: str, out: Path) -> Path:
    data = export_bundle(runtime, clone_id)
    out = Path(out)
    try:
        out.write_bytes(data)
    except OSError as error:
        raise InvalidInput(f"Could not write the bundle to {out}: {error.strerror}; choose another place.") from None
    return out


# ---------------------------------------------------------------- reading (untrusted input)


@dataclass
class Bundle:
    manifest: dict
    files: dict[str, bytes]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _safe_member(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        not path.is_absolute() and ".." not in path.parts and "\\" not in name and ":" not in name
        and (name == MANIFEST or (len(path.parts) == 2 and path.parts[0] == "files"))
    )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read at most `limit` bytes, whatever the header claims (guards lying zip headers)."""
    with archive.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise BundleError("A file inside this bundle is larger than the studio accepts; import a smaller bundle.")
    return data


def _check_entries(infos: list[zipfile.ZipInfo], max_file: int) -> None:
    if len(infos) > MAX_ENTRIES:
        raise BundleError(f"This bundle holds more than {MAX_ENTRIES} files; the studio does not import it.")
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise _corrupt("a file appears twice")
    for info in infos:
        if not _safe_member(info.filename):
            raise BundleError(f"This bundle contains an unexpected path ({info.filename[:60]}); the studio does not import it.")
        if info.flag_bits & 0x1:
            raise BundleError("This bundle is encrypted; export it again without a password.")
        limit = MAX_MANIFEST_BYTES if info.filename == MANIFEST else max_file
        if info.file_size > limit:
            raise BundleError("A file inside this bundle is larger than the studio accepts; import a smaller bundle.")
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise BundleError("This bundle expands to far more than its size (a zip bomb); the studio does not import it.")
    if sum(info.file_size for info in infos) > MAX_TOTAL_BYTES:
        raise BundleError("This bundle is too large to import; export a clone with fewer files.")


def _parse_manifest(raw: bytes) -> dict:
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _corrupt("its manifest is not readable") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError("This zip file is not a Clone Studio bundle; choose a file exported from the studio.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError("This bundle's format version is unknown; it cannot be imported.")
    if version > FORMAT_VERSION:
        raise BundleError(
            f"This bundle was made by a newer Clone Studio (format {version}, this studio reads up to "
            f"{FORMAT_VERSION}); update the studio, then import it again."
        )
    for key, kind in (("clone", dict), ("prompts", list), ("documents", list), ("question_sets", list)):
        if not isinstance(manifest.get(key), kind):
            raise _corrupt(f"its manifest has no valid '{key}'")
    _check_listing(manifest)
    return manifest


def _suites_of(manifest: dict) -> list[dict]:
    """The bundle's suites; a bundle from before suites carries plain question sets."""
    if manifest.get("suites") is not None:
        return manifest["suites"]
    return [{"name": qs["name"], "cases": [{"question": str(q)} for q in qs["questions"]]}
            for qs in manifest["question_sets"]]


def _is_text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _check_listing(manifest: dict) -> None:
    for document in manifest["documents"]:
        if not isinstance(document, dict) or not all(_is_text(document.get(k)) for k in ("file", "filename", "sha256")):
            raise _corrupt("a listed file has no name or checksum")
        if document.get("kind") not in DOCUMENT_KINDS:
            raise _corrupt("a listed file is of an unknown kind")
    for qs in manifest["question_sets"]:
        if not isinstance(qs, dict) or not _is_text(qs.get("name")) or not isinstance(qs.get("questions"), list):
            raise _corrupt("a question set is unreadable")
    suites = manifest.get("suites")
    if suites is not None and (not isinstance(suites, list) or not all(
            isinstance(s, dict) and _is_text(s.get("name")) and isinstance(s.get("cases", []), list)
            and isinstance(s.get("drafts", []), list) and isinstance(s.get("settings", {}), dict) for s in suites)):
        raise _corrupt("a test suite is unreadable")
    try:
        for record in _suites_of(manifest):
            clean_cases(record.get("cases") or [], allow_empty=True)
            clean_cases(record.get("drafts") or [], allow_empty=True)
            clean_settings(record.get("settings") or {})
    except InvalidInput as error:
        raise _corrupt(f"a test suite is unreadable: {str(error).rstrip('.')}") from None
    settings = manifest["clone"].get("settings", {})
    if not isinstance(settings, dict) or not isinstance(manifest.get("voice", {}), dict):
        raise _corrupt("its settings are unreadable")
    try:
        check_history(_prompt_records(manifest))
    except InvalidInput as error:
        raise _corrupt(str(error).split("(", 1)[-1].rstrip(").")) from None


def read_bundle(data: bytes, max_file_bytes: int) -> Bundle:
    """Open and check a bundle; anything wrong raises BundleError with the reason."""
    if not data:
        raise BundleError("The bundle file is empty; choose a file exported from the studio.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BundleError("This file is not a Clone Studio bundle (it is not a zip file); choose a file exported from the studio.") from None
    try:
        with archive:
            infos = archive.infolist()
            _check_entries(infos, max_file_bytes)
            by_name = {info.filename: info for info in infos}
            if MANIFEST not in by_name:
                raise BundleError("This zip file is not a Clone Studio bundle (it has no manifest); choose a file exported from the studio.")
            manifest = _parse_manifest(_read_member(archive, by_name[MANIFEST], MAX_MANIFEST_BYTES))
            files, total = {}, 0
            for document in manifest["documents"]:
                member = document["file"]
                if member not in by_name or member == MANIFEST:
                    raise _corrupt("a listed file is missing")
                content = _read_member(archive, by_name[member], max_file_bytes)
                total += len(content)
                if total > MAX_TOTAL_BYTES:
                    raise BundleError("This bundle is too large to import; export a clone with fewer files.")
                if _sha256(content) != document.get("sha256"):
                    raise _corrupt(f"the file {str(document.get('filename'))[:60]} does not match its checksum")
                files[member] = content
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, ValueError) as error:
        raise _corrupt(type(error).__name__) from None
    except OSError:
        raise _corrupt("it could not be read") from None
    return Bundle(manifest, files)


# ---------------------------------------------------------------- import


def _settings_from(manifest: dict) -> dict:
    settings = {k: v for k, v in (manifest["clone"].get("settings") or {}).items() if k in COPIED_FIELDS}
    voice = manifest.get("voice") or {}
    settings.update({k: v for k, v in voice.items() if k in VOICE_FIELDS})
    return settings


def _prompt_records(manifest: dict) -> list[dict]:
    records = []
    for record in manifest["prompts"]:
        if not isinstance(record, dict):
            raise _corrupt("a prompt version is unreadable")
        record = dict(record)
        if record.get("created_at"):
            try:
                record["created_at"] = datetime.fromisoformat(record["created_at"])
            except (TypeError, ValueError):
                raise _corrupt("a prompt version has an unreadable date") from None
        records.append(record)
    return records


def _restore_template(session, clone: Clone, reference: dict | None) -> None:
    """Keep the template reference; a user template travels with the bundle and is recreated if missing."""
    if not reference or not isinstance(reference.get("id"), str):
        clone.template_id = None
        return
    clone.template_id = reference["id"]
    saved = reference.get("user_template")
    if not reference["id"].startswith(USER_PREFIX) or not isinstance(saved, dict):
        return
    existing = session.get(UserTemplate, reference["id"][len(USER_PREFIX):])
    if existing is not None and existing.owner_id == clone.owner_id:
        return
    try:
        template_from_data("imported", saved.get("data") or {}, builtin=False)
    except (InvalidInput, AttributeError):
        raise _corrupt("its saved template is incomplete") from None
    row = UserTemplate(owner_id=clone.owner_id, name=str(saved.get("name") or "Imported template"), data=saved["data"])
    session.add(row)
    session.flush()
    clone.template_id = USER_PREFIX + row.id


def import_bundle(runtime, data: bytes, *, wait: bool = True, owner_id: str | None = None) -> Clone:
    """Recreate a clone from a bundle with a new id (a clashing name gets a suffix) and re-index its files.

    The files go to the ingestion worker; `wait` blocks until it is idle (CLI, tests).
    """
    owner_id = resolve(runtime, owner_id)
    runtime = runtime.scoped(owner_id)
    bundle = read_bundle(data, runtime.settings.max_upload_bytes)
    manifest, info = bundle.manifest, bundle.manifest["clone"]
    with runtime.session() as session:
        name = unique_name(session, str(info.get("name") or "Imported clone"), owner_id)
    try:
        clone = create_clone(runtime, name, str(info.get("description") or ""), str(info.get("avatar") or "🤖"),
                             owner_id=owner_id, created_from="import", **_settings_from(manifest))
    except (TypeError, ValueError):
        raise _corrupt("its settings are unreadable") from None
    try:
        with runtime.session() as session:
            clone = session.get(Clone, clone.id)
            replace_history(session, clone, _prompt_records(manifest))
            _restore_template(session, clone, manifest.get("template"))
            restore_suites(session, clone, _suites_of(manifest))
            session.add(clone)
            session.commit()
            session.refresh(clone)
        for document in manifest["documents"]:
            add_original(runtime, clone.id, document["filename"], document["kind"], bundle.files[document["file"]])
    except StudioError:
        delete_clone(runtime, clone.id)
        raise
    if wait:
        wait_indexed(runtime)
    return clone
