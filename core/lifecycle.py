"""Clone lifecycle beyond create/update/delete: from a template, duplicate, names, favourites, gallery filters."""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from sqlalchemy import func
from sqlmodel import Session, select

from core.clones import MAX_NAME, create_clone, get_clone, list_clones, update_clone
from core.errors import IngestError
from core.owners import owner_of, resolve
from core.models import Clone, Document
from core.prompts import LAYERS, active_prompts, history_records, replace_history, validate_layer
from core.quality.suites import restore_suites, suite_records
from core.template_library import get_template, merged_variables

# Settings a duplicate or a bundle carries over (identity, timestamps and favourite stay behind).
COPIED_FIELDS = tuple(
    name for name in Clone.model_fields
    if name not in {"id", "owner_id", "name", "slug", "description", "avatar", "favorite", "created_from",
                    "created_at", "updated_at", "last_used_at"}
)
_SUFFIX = re.compile(r"^(.*\S) \((\d+)\)$")
INDEX_TIMEOUT_S = 900.0


def clone_settings(clone: Clone) -> dict:
    return {name: getattr(clone, name) for name in COPIED_FIELDS}


def unique_name(session: Session, name: str, owner_id: str | None = None) -> str:
    """`name` if free, else the first free "name (2)", "name (3)", ... (case-insensitive)."""
    name = " ".join(name.split())[:MAX_NAME]
    taken = {
        value.lower()
        for value in session.exec(select(func.lower(Clone.name)).where(Clone.owner_id == resolve(session, owner_id))).all()
    }
    if name.lower() not in taken:
        return name
    match = _SUFFIX.match(name)
    base = match.group(1) if match else name
    n = 2
    while True:
        suffix = f" ({n})"
        candidate = base[: MAX_NAME - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
        n += 1


def create_from_template(
    runtime, name: str, template_id: str, *, description: str | None = None, avatar: str | None = None,
    variables: dict | None = None, settings: dict | None = None, owner_id: str | None = None,
) -> Clone:
    """A new clone whose version 1 of every layer is the template's text, with its variables and settings."""
    owner_id = resolve(runtime, owner_id)
    runtime = runtime.scoped(owner_id)
    with runtime.session() as session:
        template = get_template(template_id, session, owner_id)
    values = merged_variables(template, None, variables)
    draft = Clone(name=name or template.name, slug="draft", description=description or template.description,
                  specialty=template.specialty)
    for layer in LAYERS:
        validate_layer(draft, layer, template.prompts[layer], variables=values)
    fields = {
        "specialty": template.specialty, "category": template.category, "tags": list(template.tags),
        "template_id": template.id, "variables": values, "created_from": "template",
        **template.settings, **(settings or {}),
    }
    clone = create_clone(
        runtime, name, description if description is not None else template.description,
        avatar or template.icon, template.prompts["system"], owner_id=owner_id, **fields,
    )
    with runtime.session() as session:
        for layer, row in active_prompts(session, clone.id).items():
            row.content = template.prompts[layer]
            row.message = f"Created from template {template.name}"
            session.add(row)
        session.commit()
    return clone


def duplicate_clone(runtime, clone_id: str, name: str | None = None, *, knowledge: bool = False,
                    wait: bool = False) -> Clone:
    """A copy with every prompt version (history, parents, active ones), settings and test suites.

    With `knowledge`, the original files are added again and re-indexed: in the background, or
    before returning when `wait` is set.
    """
    with runtime.session() as session:
        source = get_clone(session, clone_id)
        records = history_records(session, clone_id)
        suites = suite_records(session, clone_id, source.owner_id)
        name = name if name and name.strip() else unique_name(session, source.name, source.owner_id)
    copy = create_clone(runtime, name, source.description, source.avatar, owner_id=source.owner_id,
                        created_from="duplicate", **clone_settings(source))
    with runtime.session() as session:
        copy = session.get(Clone, copy.id)
        replace_history(session, copy, records)
        restore_suites(session, copy, suites)
        session.commit()
    if knowledge:
        copy_knowledge(runtime, source.id, copy.id)
        if wait:
            wait_indexed(runtime)
    return copy


def documents_of(session: Session, clone_id: str) -> list[Document]:
    return list(session.exec(select(Document).where(Document.clone_id == clone_id, Document.owner_id == owner_of(session))
                             .order_by(Document.created_at)).all())


def add_original(runtime, clone_id: str, filename: str, kind: str, data: bytes) -> Document:
    """Queue an original file for indexing under its own name (pasted text is named by its title)."""
    from core.knowledge.extract import EXTENSIONS, KINDS
    from core.knowledge.ingest import add_file, add_text

    if KINDS.get(PurePosixPath(filename).suffix.lower()) == kind:
        return add_file(runtime, clone_id, filename, data)
    if kind == "markdown":
        try:
            return add_text(runtime, clone_id, filename, data.decode("utf-8"))
        except UnicodeDecodeError:
            raise IngestError(f'"{filename}" is not readable text; export it again or leave it out.') from None
    return add_file(runtime, clone_id, f"{filename}.{EXTENSIONS[kind]}", data)


def wait_indexed(runtime, timeout: float = INDEX_TIMEOUT_S) -> bool:
    """Block until the ingestion worker is idle; False if files are still processing after `timeout`."""
    return runtime.worker.wait_idle(timeout)


def copy_knowledge(runtime, source_id: str, target_id: str) -> list[Document]:
    """Add every original file of one clone to another, to be indexed again."""
    from core.knowledge.ingest import stored_file

    with runtime.session() as session:
        documents = documents_of(session, source_id)
    copies = []
    for document in documents:
        path = stored_file(runtime, document)
        if path.is_file():
            copies.append(add_original(runtime, target_id, document.filename, document.kind, path.read_bytes()))
    return copies


def set_favorite(runtime, clone_id: str, favorite: bool) -> Clone:
    return update_clone(runtime, clone_id, favorite=bool(favorite))


def set_classification(runtime, clone_id: str, *, specialty: str | None = None, category: str | None = None,
                       tags=None) -> Clone:
    """Specialty, category and tags (tags trimmed, empty and repeated ones dropped)."""
    fields: dict = {}
    if specialty is not None:
        fields["specialty"] = " ".join(specialty.split())
    if category is not None:
        fields["category"] = " ".join(category.split())
    if tags is not None:
        fields["tags"] = clean_tags(tags)
    return update_clone(runtime, clone_id, **fields)


def clean_tags(tags) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    return list(dict.fromkeys(t for t in (" ".join(str(tag).split()).lower() for tag in tags) if t))


def filter_clones(session: Session, *, query: str = "", category: str | None = None,
                  favorites_only: bool = False, tag: str | None = None, owner_id: str | None = None) -> list[Clone]:
    """The gallery's search (name, description, specialty, tags) and filters; favourites first."""
    words = query.lower().split()

    def matches(clone: Clone) -> bool:
        text = " ".join([clone.name, clone.description, clone.specialty, *(clone.tags or [])]).lower()
        return (
            all(word in text for word in words)
            and (not category or clone.category == category)
            and (not favorites_only or clone.favorite)
            and (not tag or tag.lower() in [t.lower() for t in clone.tags or []])
        )

    return [clone for clone in list_clones(session, owner_id) if matches(clone)]


def clone_categories(session: Session, owner_id: str | None = None) -> list[str]:
    return sorted({clone.category for clone in list_clones(session, owner_id) if clone.category})
