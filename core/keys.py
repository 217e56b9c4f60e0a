"""Provider API keys, looked up in one place: the Settings store -> environment -> secrets.toml.

Keys typed into the UI are stored Fernet-encrypted in the ApiKey table; only the last four
characters are kept in clear, for the masked display. The encryption key is never in the
database: it comes from CLONE_STUDIO_SECRET_KEY in the environment or in
.streamlit/secrets.toml, else a key generated once into a 0600 file in the data directory,
next to the database. Keys are never logged and never shown in full.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from sqlmodel import select

from core.config import setting
from core.errors import InvalidInput, MissingKey
from core.owners import resolve
from core.models import ApiKey, utcnow

log = logging.getLogger(__name__)

SECRET_ENV = "CLONE_STUDIO_SECRET_KEY"
KEY_FILE = "secret.key"
MASK = "••••"


@dataclass(frozen=True)
class KeySpec:
    label: str
    env: tuple[str, ...]
    required: bool = True  # an OpenAI-compatible local server usually needs none


PROVIDERS: dict[str, KeySpec] = {
    "openai": KeySpec("OpenAI", ("OPENAI_API_KEY",)),
    "anthropic": KeySpec("Anthropic", ("ANTHROPIC_API_KEY",)),
    "sarvam": KeySpec("Sarvam", ("SARVAM_API_KEY", "SARVAM_AI_API_KEY")),
    "elevenlabs": KeySpec("ElevenLabs", ("ELEVENLABS_API_KEY",)),
    "openai_compatible": KeySpec("OpenAI-compatible server", ("OPENAI_COMPATIBLE_API_KEY",), required=False),
}


@dataclass(frozen=True)
class KeyStatus:
    provider: str
    label: str
    source: str | None  # "settings" / "environment" / "secrets" / None
    masked: str | None
    problem: str | None = None  # e.g. a stored key that can no longer be decrypted


def spec(provider: str) -> KeySpec:
    try:
        return PROVIDERS[provider]
    except KeyError:
        raise InvalidInput(f"There is no provider called '{provider}' that takes an API key; choose one of {', '.join(PROVIDERS)}.") from None


def mask(key: str) -> str:
    return MASK + key[-4:]


# -- the encryption key --------------------------------------------------------------------


def key_file(runtime) -> Path:
    return runtime.settings.home / KEY_FILE


def encryption_key_source(runtime) -> str:
    """Where the encryption key comes from, as the Settings page says it."""
    if os.environ.get(SECRET_ENV):
        return f"the {SECRET_ENV} environment variable"
    if setting(SECRET_ENV):
        return f"{SECRET_ENV} in .streamlit/secrets.toml"
    return f"a key file generated at {key_file(runtime)} (keep it with the data; set {SECRET_ENV} to use your own)"


def _is_fernet_key(secret: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(secret.encode())) == 32
    except (binascii.Error, ValueError):
        return False


@lru_cache(maxsize=8)
def _fernet_from(secret: str) -> Fernet:
    """A Fernet key as given, or one derived from any passphrase."""
    if _is_fernet_key(secret):
        return Fernet(secret.encode())
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=b"clone-studio/api-keys", iterations=200_000)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(secret.encode())))


def _generated_secret(path: Path, make=lambda: Fernet.generate_key().decode()) -> str:
    """Read the key file, creating it (mode 0600, never overwritten) with `make()` on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(make())
    log.info("generated a new secret file at %s", path)
    return path.read_text().strip()


def fernet(runtime) -> Fernet:
    return _fernet_from(setting(SECRET_ENV) or _generated_secret(key_file(runtime)))


# -- the store -------------------------------------------------------------------------------


def _row(session, provider: str, owner: str | None) -> ApiKey | None:
    """The owner's (the session's unless given) stored key row for `provider`."""
    owner = resolve(session, owner)
    return session.exec(select(ApiKey).where(ApiKey.owner_id == owner, ApiKey.provider == provider)).first()


def _clean(provider: str, key: str) -> str:
    key = (key or "").strip()
    if len(key) < 8 or any(ch.isspace() for ch in key) or not key.isprintable():
        raise InvalidInput(f"That does not look like a {spec(provider).label} API key; paste the whole key without spaces.")
    return key


def save_key(runtime, provider: str, key: str, owner: str | None = None) -> bool:
    """Encrypt and store a key typed into the UI. A blank key keeps the stored one (returns False)."""
    spec(provider)
    if not (key or "").strip():
        return False
    key = _clean(provider, key)
    token = fernet(runtime).encrypt(key.encode()).decode()
    with runtime.session() as session:
        row = _row(session, provider, owner) or ApiKey(owner_id=resolve(session, owner), provider=provider, ciphertext="", last4="")
        row.ciphertext, row.last4, row.updated_at = token, key[-4:], utcnow()
        session.add(row)
        session.commit()
    log.info("saved the %s API key", provider)
    return True


def delete_key(runtime, provider: str, owner: str | None = None) -> bool:
    """Forget the stored key (environment and secrets.toml keys are untouched). True when one was stored."""
    spec(provider)
    with runtime.session() as session:
        row = _row(session, provider, owner)
        if row is None:
            return False
        session.delete(row)
        session.commit()
    log.info("deleted the stored %s API key", provider)
    return True


def stored_key(runtime, provider: str, owner: str | None = None) -> str | None:
    with runtime.session() as session:
        row = _row(session, provider, owner)
    if row is None:
        return None
    try:
        return fernet(runtime).decrypt(row.ciphertext.encode()).decode()
    except InvalidToken:
        raise MissingKey(
            f"The saved {spec(provider).label} key cannot be decrypted because the encryption key changed; "
            "enter the key again on the Settings page."
        ) from None


def _outside_key(provider: str) -> tuple[str | None, str | None]:
    for name in spec(provider).env:
        if os.environ.get(name):
            return os.environ[name].strip(), "environment"
    for name in spec(provider).env:
        value = setting(name)
        if value:
            return value.strip(), "secrets"
    return None, None


def _resolve(runtime, provider: str, owner: str) -> tuple[str | None, str | None]:
    if runtime is not None:
        key = stored_key(runtime, provider, owner)
        if key:
            return key, "settings"
    return _outside_key(provider)


def resolve_key(runtime, provider: str, owner: str | None = None) -> str | None:
    """The key to use: Settings store (when a runtime is given) -> environment -> secrets.toml."""
    return _resolve(runtime, provider, owner)[0]


def require_key(runtime, provider: str, owner: str | None = None) -> str:
    key = resolve_key(runtime, provider, owner)
    if key:
        return key
    entry = spec(provider)
    raise MissingKey(f"No {entry.label} API key is set; add one on the Settings page or set {entry.env[0]}.")


def key_source(runtime, provider: str, owner: str | None = None) -> str | None:
    return _resolve(runtime, provider, owner)[1]


def masked(runtime, provider: str, owner: str | None = None) -> str | None:
    """'••••abcd' for the key that would be used, or None when there is none."""
    key = resolve_key(runtime, provider, owner)
    return mask(key) if key else None


def key_status(runtime, provider: str, owner: str | None = None) -> KeyStatus:
    entry = spec(provider)
    try:
        key, source = _resolve(runtime, provider, owner)
    except MissingKey as problem:
        key, source = _outside_key(provider)
        return KeyStatus(provider, entry.label, source, mask(key) if key else None, str(problem))
    return KeyStatus(provider, entry.label, source, mask(key) if key else None)
