"""Login (optional OIDC), the users it signs in, and the admin list. No Streamlit here.

Login is off unless configured, either by environment variables (or top-level keys of
.streamlit/secrets.toml) named CLONE_STUDIO_OIDC_* or by an `[auth]` section in
.streamlit/secrets.toml. `streamlit_secrets()` builds the `[auth]` section that
streamlit_app.py hands to `st.App(secrets=...)`; Streamlit's own `st.login` does the rest.

A signed-in person is the `User` row for (issuer, subject); its id is the owner_id of their
rows. The e-mail is kept for display and for the admin list, never as the identity.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.config import LOCAL_OWNER, _secrets, load_settings, setting
from core.models import User, utcnow

ENV = {
    "server_metadata_url": "CLONE_STUDIO_OIDC_METADATA_URL",
    "client_id": "CLONE_STUDIO_OIDC_CLIENT_ID",
    "client_secret": "CLONE_STUDIO_OIDC_CLIENT_SECRET",
    "redirect_uri": "CLONE_STUDIO_OIDC_REDIRECT_URI",
}
COOKIE_SECRET_ENV = "CLONE_STUDIO_COOKIE_SECRET"
ADMINS_ENV = "CLONE_STUDIO_ADMINS"
COOKIE_FILE = "cookie_secret"
SEEN_EVERY = timedelta(minutes=1)  # last_seen is written at most this often per user


@dataclass(frozen=True)
class LoginConfig:
    """What the studio knows about login: on or off, and what is missing when half set up."""

    enabled: bool
    source: str  # "environment" / "secrets" / "off"
    missing: tuple[str, ...] = ()

    @property
    def problem(self) -> str | None:
        if not self.missing:
            return None
        return ("Sign-in is switched on but not fully configured; set " + ", ".join(self.missing)
                + " and restart the studio.")


def _env_values() -> dict[str, str]:
    return {key: setting(name) or "" for key, name in ENV.items()}


def login_config() -> LoginConfig:
    """Login is on when any CLONE_STUDIO_OIDC_* variable is set, or secrets.toml has [auth]."""
    values = _env_values()
    if any(values.values()):
        missing = tuple(ENV[key] for key, value in values.items() if not value)
        if values["redirect_uri"] and not values["redirect_uri"].rstrip("/").endswith("/oauth2callback"):
            missing += (ENV["redirect_uri"] + " (ending in /oauth2callback)",)
        return LoginConfig(True, "environment", missing)
    if isinstance(_secrets().get("auth"), dict):
        return LoginConfig(True, "secrets")
    return LoginConfig(False, "off")


def login_enabled() -> bool:
    return login_config().enabled


def _generated_cookie_secret(home: Path) -> str:
    """A random cookie secret kept in a 0600 file in the data directory (never overwritten)."""
    from core.keys import _generated_secret

    return _generated_secret(home / COOKIE_FILE, lambda: secrets.token_hex(32))


def streamlit_secrets(home: Path | None = None) -> dict | None:
    """The `{"auth": {...}}` secrets for st.App when login is configured by environment; None otherwise
    (off, or configured in secrets.toml, which Streamlit reads itself)."""
    config = login_config()
    if config.source != "environment" or config.missing:
        return None
    auth = _env_values()
    auth["cookie_secret"] = setting(COOKIE_SECRET_ENV) or _generated_cookie_secret(home or load_settings().home)
    return {"auth": auth}


# ---------------------------------------------------------------- admins


def admin_list() -> set[str]:
    """CLONE_STUDIO_ADMINS: subjects or e-mail addresses, separated by commas or spaces."""
    raw = setting(ADMINS_ENV) or ""
    return {part.strip().lower() for part in raw.replace(",", " ").split() if part.strip()}


def is_admin(user) -> bool:
    """Whether `user` (a User row, or st.user-like claims with sub/email) is on the admin list.

    With login off there is one person, the local owner, and they administer their studio."""
    if user is None:
        return False
    if not login_enabled():
        return True
    subject = _claim(user, "subject", "sub")
    email = _claim(user, "email", "email")
    names = admin_list()
    return bool(names) and ((subject or "").lower() in names or (email or "").lower() in names)


def _claim(user, attribute: str, key: str) -> str | None:
    if isinstance(user, dict):
        return user.get(key) or user.get(attribute)
    return getattr(user, attribute, None)


# ---------------------------------------------------------------- users

def sign_in(runtime, issuer: str, subject: str, name: str | None = None, email: str | None = None) -> User:
    """The User for (issuer, subject), made on first sign-in; name, e-mail and last seen kept fresh."""
    issuer, subject = str(issuer or "").strip(), str(subject or "").strip()
    if not issuer or not subject:
        raise ValueError("a signed-in user needs an issuer and a subject")
    now = utcnow()
    with runtime.base.session() as session:
        user = session.exec(select(User).where(User.issuer == issuer, User.subject == subject)).first()
        if user is None:
            user = User(issuer=issuer, subject=subject, name=name, email=email, first_seen=now, last_seen=now)
            user.is_admin = is_admin(user)
            session.add(user)
            try:
                session.commit()
            except IntegrityError:  # another session signed the same person in at the same moment
                session.rollback()
                user = session.exec(select(User).where(User.issuer == issuer, User.subject == subject)).one()
            else:
                session.refresh(user)
                return user
        admin = is_admin({"sub": subject, "email": email})
        stale = _aware(user.last_seen) + SEEN_EVERY <= now
        if stale or (name and name != user.name) or (email and email != user.email) or admin != user.is_admin:
            user.name, user.email = name or user.name, email or user.email
            user.is_admin, user.last_seen = admin, now
            session.add(user)
            session.commit()
            session.refresh(user)
        return user


def _aware(moment):
    from datetime import timezone

    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def owner_for(runtime, issuer: str, subject: str, name: str | None = None, email: str | None = None) -> str:
    """The owner id of a signed-in person (their User id), creating the User on first sign-in."""
    return sign_in(runtime, issuer, subject, name, email).id


def list_users(runtime) -> list[User]:
    with runtime.base.session() as session:
        return list(session.exec(select(User).order_by(User.first_seen)).all())


def get_user(runtime, user_id: str) -> User | None:
    with runtime.base.session() as session:
        return session.get(User, user_id)


def find_user(runtime, ref: str) -> User | None:
    """A user by id, subject or e-mail (case-insensitive)."""
    ref = str(ref or "").strip()
    with runtime.base.session() as session:
        for user in session.exec(select(User)).all():
            if ref in (user.id, user.subject) or (user.email and user.email.lower() == ref.lower()):
                return user
    return None


# ---------------------------------------------------------------- the local data


def local_data_counts(runtime) -> dict[str, int]:
    """How many rows the local owner still holds, per table (what an admin may claim)."""
    from sqlalchemy import func
    from sqlalchemy import select as core_select

    counts = {}
    with runtime.engine.connect() as connection:
        for table in _owned_tables():
            n = connection.execute(core_select(func.count()).select_from(table)
                                   .where(table.c.owner_id == LOCAL_OWNER)).scalar_one()
            if n:
                counts[table.name] = int(n)
    return counts


def _owned_tables():
    from sqlmodel import SQLModel

    return [table for table in SQLModel.metadata.sorted_tables if "owner_id" in table.c]


def _unique_partners(table) -> list[list[str]]:
    """For each unique constraint that includes owner_id, its other columns."""
    from sqlalchemy import UniqueConstraint

    groups = []
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            names = [column.name for column in constraint.columns]
            if "owner_id" in names:
                groups.append([name for name in names if name != "owner_id"])
    return groups


def claim_local_data(runtime, owner_id: str) -> dict[str, int]:
    """Give everything the local owner holds (the single-user studio's data) to `owner_id`.

    Clones whose names clash with the new owner's get a suffix; a row that would break a
    per-owner unique rule (the same provider's key, the same setting, the same token name)
    stays with the local owner. Returns the number of rows moved per table."""
    from sqlalchemy import and_, exists, update
    from sqlalchemy import select as core_select

    from core.clones import _unique_slug
    from core.lifecycle import unique_name
    from core.models import Clone

    if not owner_id or owner_id == LOCAL_OWNER:
        raise ValueError("claim the local data for a signed-in user")
    moved: dict[str, int] = {}
    with runtime.base.session() as session:
        mine = {name.lower() for name in session.exec(select(Clone.name).where(Clone.owner_id == owner_id)).all()}
        for clone in session.exec(select(Clone).where(Clone.owner_id == LOCAL_OWNER)).all():
            if clone.name.lower() in mine:
                clone.name = unique_name(session, clone.name, owner_id)
                clone.slug = _unique_slug(session, owner_id, clone.name)
                session.add(clone)
            mine.add(clone.name.lower())
        session.flush()
        for table in _owned_tables():
            condition = table.c.owner_id == LOCAL_OWNER
            for columns in _unique_partners(table):
                other = table.alias("taken")
                condition = and_(condition, ~exists(
                    core_select(other.c.owner_id).where(other.c.owner_id == owner_id,
                                                        *[other.c[name] == table.c[name] for name in columns])))
            result = session.execute(update(table).where(condition).values(owner_id=owner_id))
            if result.rowcount:
                moved[table.name] = int(result.rowcount)
        session.commit()
    return moved
