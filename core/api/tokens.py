"""Named service-API tokens: shown once at creation, stored only as a SHA-256 hash, revocable.

Why SHA-256 and not a slow password hash: a token is 256 random bits (`secrets.token_urlsafe(32)`),
so guessing it from its hash is as hopeless as guessing it outright; slow hashes (bcrypt, argon2)
exist to protect low-entropy passwords, and with a per-row salt they cannot be looked up by
value, so every API request would cost a full scan of slow hashes. An unsalted SHA-256 lets one
indexed lookup find the token in well under a millisecond.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from core.config import LOCAL_OWNER
from core.errors import InvalidInput, NotFound
from core.models import ApiToken, utcnow

PREFIX = "cs_"
MAX_NAME = 60
LAST_USED_EVERY_S = 60.0  # "last used" is written at most once a minute per token (requests stay read-only)
_NAME = re.compile(r"^[\w .@:-]+$")
_last_written: dict[str, float] = {}
_last_lock = threading.Lock()


@dataclass(frozen=True)
class NewToken:
    """The token in full: shown once, then only its hash is kept."""

    name: str
    token: str
    row: ApiToken


@dataclass(frozen=True)
class Caller:
    """Who a request's token belongs to."""

    token_id: str
    owner_id: str
    name: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _clean_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise InvalidInput("Give the token a name, e.g. the program that will use it.")
    if len(name) > MAX_NAME or not _NAME.match(name):
        raise InvalidInput(f"Use up to {MAX_NAME} letters, digits, spaces or . @ : - _ for the token's name.")
    return name


def create_token(runtime, name: str, owner_id: str = LOCAL_OWNER) -> NewToken:
    """A new token; a revoked token's name can be reused, a live one's cannot."""
    name = _clean_name(name)
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(owner_id=owner_id, name=name, token_hash=token_hash(token), prefix=token[:7], last4=token[-4:])
    with runtime.session() as session:
        existing = session.scalars(select(ApiToken).where(ApiToken.owner_id == owner_id, ApiToken.name == name)).first()
        if existing is not None:
            if existing.revoked_at is None:
                raise InvalidInput(f"You already have a token called '{name}'; pick another name or revoke it first.")
            session.delete(existing)
            session.flush()
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise InvalidInput(f"You already have a token called '{name}'; pick another name.") from None
        session.refresh(row)
    return NewToken(name, token, row)


def list_tokens(runtime, owner_id: str = LOCAL_OWNER, include_revoked: bool = False) -> list[ApiToken]:
    statement = select(ApiToken).where(ApiToken.owner_id == owner_id)
    if not include_revoked:
        statement = statement.where(ApiToken.revoked_at.is_(None))
    with runtime.session() as session:
        return list(session.scalars(statement.order_by(ApiToken.created_at)).all())


def revoke_token(runtime, name: str, owner_id: str = LOCAL_OWNER) -> ApiToken:
    name = " ".join(str(name or "").split())
    with runtime.session() as session:
        row = session.scalars(select(ApiToken).where(
            ApiToken.owner_id == owner_id, ApiToken.name == name, ApiToken.revoked_at.is_(None))).first()
        if row is None:
            raise NotFound(f"There is no active token called '{name}'; `tokens list` shows them.")
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def masked(row: ApiToken) -> str:
    return f"{row.prefix}…{row.last4}"


_BY_HASH = select(ApiToken.id, ApiToken.owner_id, ApiToken.name).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))


def authenticate(runtime, token: str | None) -> Caller | None:
    """The live token's owner, or None. One indexed lookup by hash; `last_used_at` is refreshed
    at most once a minute per token."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    with runtime.engine.connect() as connection:
        row = connection.execute(_BY_HASH, {"token_hash": token_hash(token)}).first()
    if row is None or (row.owner_id == LOCAL_OWNER and _login_on()):
        return None  # with login on, a token must belong to a signed-in user, not the local owner
    _touch(runtime, row.id)
    return Caller(row.id, row.owner_id, row.name)


def _login_on() -> bool:
    from core.auth import login_enabled

    return login_enabled()


def _touch(runtime, token_id: str) -> None:
    now = time.monotonic()
    with _last_lock:
        if now - _last_written.get(token_id, -LAST_USED_EVERY_S) < LAST_USED_EVERY_S:
            return
        _last_written[token_id] = now
    with runtime.engine.begin() as connection:
        connection.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


def describe(row: ApiToken) -> dict:
    """A token for listings: never the token itself."""
    return {"name": row.name, "token": masked(row), "created_at": _iso(row.created_at),
            "last_used_at": _iso(row.last_used_at), "revoked_at": _iso(row.revoked_at)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
