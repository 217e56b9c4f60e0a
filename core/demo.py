"""The demo clone a fresh studio opens on: a guide who already knows a few short documents."""
from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.clones import create_clone
from core.owners import resolve
from core.models import AppSetting, Clone, utcnow

log = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parent / "demo_docs"
SEEDED_KEY = "demo_seeded"
NAME = "Ada, the Studio Guide"
DESCRIPTION = (
    "A guide to Clone Studio who has also read a bakery's staff handbook and a hiking-trail "
    "guide. Ask her anything about them."
)
SYSTEM_PROMPT = (
    "You are {{ clone_name }}, a friendly guide to Clone Studio. {{ clone_description }}\n"
    "Answer briefly and warmly. Use only the sources you are given, cite them with their "
    "numbers, and when they do not hold the answer, say so plainly."
)
FIRST_QUESTION = "What are the bakery's opening hours?"


def _claim(runtime, owner_id: str) -> bool:
    """Record that the demo was seeded, once per owner; False if it was (or clones exist)."""
    with runtime.session() as session:
        seeded = session.exec(
            select(AppSetting).where(AppSetting.owner_id == owner_id, AppSetting.key == SEEDED_KEY)
        ).first()
        if seeded is not None:
            return False
        has_clones = session.exec(select(Clone.id).where(Clone.owner_id == owner_id)).first() is not None
        session.add(AppSetting(owner_id=owner_id, key=SEEDED_KEY,
                               value={"at": utcnow().isoformat(), "skipped": has_clones}))
        try:
            session.commit()
        except IntegrityError:  # another process seeded it at the same moment
            session.rollback()
            return False
        return not has_clones


def ensure_demo_clone(runtime, owner_id: str | None = None) -> Clone | None:
    """On a first run (no clones, never seeded) create the demo clone with its documents
    ingested synchronously; afterwards, and after the demo is deleted, do nothing."""
    owner_id = resolve(runtime, owner_id)
    runtime = runtime.scoped(owner_id)
    if not _claim(runtime, owner_id):
        return None
    from core.knowledge.ingest import ingest_now

    clone = create_clone(runtime, NAME, DESCRIPTION, "🧭", SYSTEM_PROMPT, owner_id=owner_id,
                         created_from="demo", specialty="Clone Studio, a bakery handbook and a trail guide")
    for path in sorted(DOCS.glob("*.md")):
        document = ingest_now(runtime, clone.id, path.name, path.read_bytes())
        if document.status != "ready":
            log.warning("Demo document %s failed: %s", path.name, document.error)
    return clone
