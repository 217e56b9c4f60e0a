"""Whose data a call may touch: the owner travels with the runtime handle and its sessions.

`runtime.scoped(owner_id)` is the shared runtime (same engine, chunk store, worker) seen by
one owner: every session it opens carries the owner in `session.info`, and core functions
that take a runtime or a session filter by `owner_of(...)` unless an owner is passed
explicitly. The plain runtime (CLI, background work, single-user studio) is the local owner.
A call that forgets to pass the owner therefore still sees only that owner's rows.
"""
from __future__ import annotations

from core.config import LOCAL_OWNER

OWNER_KEY = "owner_id"


def owner_of(handle) -> str:
    """The owner a runtime or a session acts for (LOCAL_OWNER when it carries none)."""
    if handle is None:
        return LOCAL_OWNER
    info = getattr(handle, "info", None)
    if isinstance(info, dict) and info.get(OWNER_KEY):
        return info[OWNER_KEY]
    return getattr(handle, OWNER_KEY, None) or LOCAL_OWNER


def resolve(handle, owner_id: str | None) -> str:
    """An explicit owner, else the handle's."""
    return owner_id or owner_of(handle)


class OwnerRuntime:
    """A runtime as one owner sees it; everything but `session()` is the shared runtime's."""

    def __init__(self, base, owner_id: str):
        if not owner_id:
            raise ValueError("an owner is required")
        self._base = base
        self.owner_id = owner_id

    def __getattr__(self, name):
        return getattr(self._base, name)

    @property
    def base(self):
        return self._base

    def session(self):
        session = self._base.session()
        session.info[OWNER_KEY] = self.owner_id
        return session

    def scoped(self, owner_id: str) -> "OwnerRuntime":
        return OwnerRuntime(self._base, owner_id)

    def close(self) -> None:  # the shared runtime is closed by whoever opened it
        return None


def owned(session, model, row_id: str | None, message: str):
    """The row of `model` with this id if the session's owner owns it; else NotFound(message),
    so another owner's row looks exactly like a missing one."""
    from core.errors import NotFound

    row = session.get(model, row_id) if row_id else None
    if row is None or row.owner_id != owner_of(session):
        raise NotFound(message)
    return row
