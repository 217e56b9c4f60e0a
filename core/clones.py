"""Clone lifecycle: create, find, list as gallery cards, update, delete."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from core.errors import InvalidInput, NotFound
from core.models import Clone, Conversation, Document, utcnow
from core.owners import owner_of, resolve
from core.prompts import create_initial_prompts

MAX_NAME = 80
_PROTECTED = {"id", "owner_id", "slug", "created_at", "updated_at"}
_FIELDS = set(Clone.model_fields) - _PROTECTED


@dataclass(frozen=True)
class CloneCard:
    clone: Clone
    documents: int
    chats: int
    last_used: datetime | None


def slugify(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "clone"


def _clean_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise InvalidInput("A clone needs a name; type one and try again.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"That name is too long; keep it under {MAX_NAME} characters.")
    return name


def _name_taken(session: Session, owner_id: str, name: str, except_id: str | None = None) -> bool:
    query = select(Clone.id).where(Clone.owner_id == owner_id, func.lower(Clone.name) == name.lower())
    if except_id:
        query = query.where(Clone.id != except_id)
    return session.exec(query).first() is not None


def _unique_slug(session: Session, owner_id: str, name: str, except_id: str | None = None) -> str:
    base = slugify(name)
    query = select(Clone.slug).where(Clone.owner_id == owner_id, Clone.slug.startswith(base))
    if except_id:
        query = query.where(Clone.id != except_id)
    taken = set(session.exec(query).all())
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_fields(fields: dict) -> dict:
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise InvalidInput(f"A clone has no setting called {', '.join(unknown)}.")
    if "top_k" in fields and not 1 <= int(fields["top_k"]) <= 50:
        raise InvalidInput("The number of sources to retrieve must be between 1 and 50.")
    if "temperature" in fields and not 0 <= float(fields["temperature"]) <= 2:
        raise InvalidInput("The temperature must be between 0 and 2.")
    if "max_tokens" in fields and not 1 <= int(fields["max_tokens"]) <= 200_000:
        raise InvalidInput("The answer length must be a positive number of tokens.")
    if "min_score" in fields and not 0 <= float(fields["min_score"]) <= 1:
        raise InvalidInput("The minimum relevance score must be between 0 and 1.")
    return fields


def create_clone(runtime, name, description="", avatar="🤖", system_prompt=None, *,
                 owner_id: str | None = None, **fields) -> Clone:
    """A new clone with version 1 of every prompt layer; the name is unique per owner
    (the runtime's owner unless `owner_id` is given)."""
    owner_id = resolve(runtime, owner_id)
    name = _clean_name(name)
    _check_fields(fields)
    with runtime.session() as session:
        if _name_taken(session, owner_id, name):
            raise InvalidInput(f"You already have a clone called '{name}'; choose another name.")
        clone = Clone(
            owner_id=owner_id, name=name, slug=_unique_slug(session, owner_id, name),
            description=(description or "").strip(), avatar=avatar or "🤖", **fields,
        )
        session.add(clone)
        session.flush()
        create_initial_prompts(session, clone, (system_prompt or "").strip() or None)
        session.commit()
        session.refresh(clone)
        return clone


def get_clone(session: Session, clone_id: str, owner_id: str | None = None) -> Clone:
    """The clone with this id if it belongs to the owner (the session's unless given); another
    owner's clone is reported exactly like a missing one."""
    clone = session.get(Clone, clone_id) if clone_id else None
    if clone is None or clone.owner_id != resolve(session, owner_id):
        raise NotFound("That clone no longer exists; pick another one from the gallery.")
    return clone


def find_clone(session: Session, ref: str, owner_id: str | None = None) -> Clone:
    """A clone by id, slug or name (case-insensitive)."""
    owner_id = resolve(session, owner_id)
    ref = " ".join(str(ref or "").split())
    owned = select(Clone).where(Clone.owner_id == owner_id)
    for condition in (Clone.id == ref, Clone.slug == ref.lower(), func.lower(Clone.name) == ref.lower()):
        clone = session.exec(owned.where(condition)).first()
        if clone is not None:
            return clone
    similar = [name for name in session.exec(select(Clone.name).where(Clone.owner_id == owner_id)).all()
               if ref and ref.lower() in name.lower()]
    if len(similar) == 1:
        raise NotFound(f"There is no clone called '{ref}'; did you mean '{similar[0]}'?")
    raise NotFound(f"There is no clone called '{ref}'; check the name or create it first.")


def list_clones(session: Session, owner_id: str | None = None) -> list[Clone]:
    query = select(Clone).where(Clone.owner_id == resolve(session, owner_id))
    return list(session.exec(query.order_by(Clone.favorite.desc(), func.lower(Clone.name))).all())


def _counts(session: Session, column, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    rows = session.exec(select(column, func.count()).where(column.in_(ids)).group_by(column)).all()
    return dict(rows)


def clone_cards(session: Session, owner_id: str | None = None) -> list[CloneCard]:
    """Every clone with its document and chat counts and when it was last used."""
    clones = list_clones(session, owner_id)
    ids = [clone.id for clone in clones]
    documents = _counts(session, Document.clone_id, ids)
    chats = _counts(session, Conversation.clone_id, ids)
    return [
        CloneCard(clone, documents.get(clone.id, 0), chats.get(clone.id, 0), clone.last_used_at)
        for clone in clones
    ]


def update_clone(runtime, clone_id: str, **fields) -> Clone:
    """Change a clone's details or settings; renaming keeps names unique and refreshes the slug."""
    _check_fields(fields)
    with runtime.session() as session:
        clone = get_clone(session, clone_id)
        if "name" in fields:
            name = _clean_name(fields.pop("name"))
            if _name_taken(session, clone.owner_id, name, except_id=clone.id):
                raise InvalidInput(f"You already have a clone called '{name}'; choose another name.")
            if name != clone.name:
                clone.slug = _unique_slug(session, clone.owner_id, name, except_id=clone.id)
            clone.name = name
        for key, value in fields.items():
            setattr(clone, key, value)
        clone.updated_at = utcnow()
        session.add(clone)
        session.commit()
        session.refresh(clone)
        return clone


def delete_clone(runtime, clone_id: str) -> None:
    """Remove a clone with its chunks and stored files; its rows (prompts, documents,
    threads, messages) go with it through ON DELETE CASCADE."""
    from core.knowledge.ingest import delete_clone_knowledge

    with runtime.session() as session:
        get_clone(session, clone_id)
    delete_clone_knowledge(runtime, clone_id)
    with runtime.session() as session:
        clone = session.get(Clone, clone_id)
        if clone is not None and clone.owner_id == owner_of(session):
            session.delete(clone)
            session.commit()
