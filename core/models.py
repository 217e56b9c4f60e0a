"""SQLModel tables. Every user-owned row carries `owner_id`; schema changes go through Alembic."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Optional

from sqlalchemy import JSON, Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.config import LOCAL_OWNER


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _fk(target: str) -> Column:
    return Column(String, ForeignKey(target, ondelete="CASCADE"), nullable=False, index=True)


class Clone(SQLModel, table=True):
    __tablename__ = "clone"

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    name: str
    slug: str = Field(index=True)
    description: str = ""
    avatar: str = "🤖"
    specialty: str = ""
    category: str = ""
    tags: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    favorite: bool = False
    created_from: str = "scratch"  # scratch / template / duplicate / import / demo
    template_id: Optional[str] = None
    variables: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # model
    llm_provider: str = "offline"
    llm_model: str = "extractive"
    temperature: float = 0.3
    max_tokens: int = 700
    embedding_provider: str = "minilm"
    # voice
    tts_provider: str = "offline"
    tts_voice: str = ""
    voice_settings: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    stt_provider: str = "offline"
    language: str = "en"
    # retrieval
    top_k: int = 5
    hybrid: bool = True
    min_score: float = 0.0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    last_used_at: Optional[datetime] = None
    # the hosted ElevenLabs agent connected to this clone (core/api/agent.py)
    elevenlabs_agent_id: Optional[str] = None


class PromptVersion(SQLModel, table=True):
    __tablename__ = "prompt_version"
    __table_args__ = (UniqueConstraint("clone_id", "layer", "version"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    clone_id: str = Field(sa_column=_fk("clone.id"))
    layer: str  # system / rag / user
    version: int
    content: str
    message: str = ""
    author: str = LOCAL_OWNER
    parent_version: Optional[int] = None
    active: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Document(SQLModel, table=True):
    __tablename__ = "document"

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    clone_id: str = Field(sa_column=_fk("clone.id"))
    filename: str
    kind: str  # pdf / text / markdown
    size: int = 0
    sha256: str = Field(index=True)
    status: str = "processing"  # processing / ready / failed
    error: Optional[str] = None
    pages: Optional[int] = None
    chunk_count: int = 0
    chunk_params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    __tablename__ = "conversation"

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    clone_id: str = Field(sa_column=_fk("clone.id"))
    title: str = "New chat"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Message(SQLModel, table=True):
    __tablename__ = "message"
    # today's spend per owner (core.spend) reads only this index
    __table_args__ = (Index("ix_message_owner_spend", "owner_id", "created_at", "cost_usd"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    conversation_id: str = Field(sa_column=_fk("conversation.id"))
    role: str  # user / assistant
    content: str = ""
    status: str = "complete"  # complete / partial / error
    error: Optional[str] = None
    provider: Optional[str] = None
    model: Optional[str] = None
    citations: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    prompt_versions: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    timings: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class ApiKey(SQLModel, table=True):
    """A provider key entered in the UI, encrypted at rest; only `last4` is ever shown."""

    __tablename__ = "api_key"
    __table_args__ = (UniqueConstraint("owner_id", "provider"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    provider: str
    ciphertext: str
    last4: str
    updated_at: datetime = Field(default_factory=utcnow)


class AppSetting(SQLModel, table=True):
    """Per-owner preferences, e.g. the default provider and model per capability."""

    __tablename__ = "app_setting"
    __table_args__ = (UniqueConstraint("owner_id", "key"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    key: str
    value: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class UsageEvent(SQLModel, table=True):
    """Metered use outside chat messages, e.g. TTS characters per provider."""

    __tablename__ = "usage_event"
    __table_args__ = (Index("ix_usage_event_owner_spend", "owner_id", "created_at", "cost_usd"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    clone_id: Optional[str] = None
    provider: str
    kind: str  # tts_chars / stt_seconds / embed_tokens
    amount: float
    cost_usd: float = 0.0
    created_at: datetime = Field(default_factory=utcnow, index=True)


class TestSuite(SQLModel, table=True):
    """A clone's list of test cases (the question sets of old grew into suites).

    `settings`: judge ("provider:model" or ""), k (judge repeats, 1-5), latency_ms / cost_usd
    ceilings, grounded threshold; missing keys take the defaults in core.quality.suites.
    """

    __tablename__ = "test_suite"
    __test__ = False

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    clone_id: str = Field(sa_column=_fk("clone.id"))
    name: str
    settings: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class TestCase(SQLModel, table=True):
    """One question and what its answer must (not) say, cite or refuse; drafts do not count until accepted."""

    __tablename__ = "test_case"
    __test__ = False

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    suite_id: str = Field(sa_column=_fk("test_suite.id"))
    position: int = 0
    question: str
    must_contain: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    must_not_contain: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    regex: str = ""
    expected_document: Optional[str] = None
    expected_page: Optional[int] = None
    should_refuse: bool = False
    reference: str = ""
    status: str = "active"  # active / draft
    created_at: datetime = Field(default_factory=utcnow)


class EvalRun(SQLModel, table=True):
    """A suite answered with one set of prompt versions and one model, every case scored."""

    __tablename__ = "eval_run"

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    clone_id: str = Field(sa_column=_fk("clone.id"))
    suite_id: Optional[str] = Field(default=None, index=True)
    suite_name: str = ""
    label: str = ""
    # {"system": n, "rag": n, "user": n}; None for a layer answered from an unsaved draft
    prompt_versions: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    variant: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # ab.Variant.record()
    provider: str = ""
    model: str = ""
    judge: str = ""  # "provider:model" or "" (no judge)
    status: str = "running"  # running / complete / incomplete / cancelled
    error: Optional[str] = None
    pass_rate: Optional[float] = None
    scores: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # {criterion: mean}
    cost_usd: float = 0.0
    duration_ms: Optional[float] = None
    case_count: int = 0
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)  # heartbeat: a running run untouched for long has died
    finished_at: Optional[datetime] = None


class EvalResult(SQLModel, table=True):
    """One case of a run: the answer, its sources, every evaluator's {score, passed, reason}."""

    __tablename__ = "eval_result"

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    run_id: str = Field(sa_column=_fk("eval_run.id"))
    case_id: Optional[str] = None
    position: int = 0
    question: str
    answer: str = ""
    citations: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # sources cited
    sources: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # everything retrieved
    scores: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    passed: bool = False
    error: Optional[str] = None
    cost_usd: float = 0.0
    latency_ms: Optional[float] = None
    retrieval_ms: Optional[float] = None
    input_tokens: int = 0
    output_tokens: int = 0


class ABRun(SQLModel, table=True):
    """An A/B comparison of two prompt variants over a question set."""

    __tablename__ = "ab_run"

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    clone_id: str = Field(sa_column=_fk("clone.id"))
    question_set_id: Optional[str] = None  # a test_suite id (question sets became suites in 0002)
    judge: str = ""  # "provider:model" that voted on this run, "" when none
    variant_a: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    variant_b: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = "running"  # running / complete / failed
    created_at: datetime = Field(default_factory=utcnow)


class ABResult(SQLModel, table=True):
    """One question of an A/B run: both answers, shared sources, the verdict, room for scores."""

    __tablename__ = "ab_result"

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    run_id: str = Field(sa_column=_fk("ab_run.id"))
    position: int = 0
    question: str
    answer_a: str = ""
    answer_b: str = ""
    sources: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    meta_a: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    meta_b: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    winner: Optional[str] = None  # a / b / tie (the person's vote, un-shuffled)
    shown_first: str = "a"  # which variant the blind vote showed on the left (shuffled per case)
    judge_vote: Optional[str] = None  # a / b / tie when both orders agreed; None when contested or not judged
    judge_detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # both orders, reasons
    scores: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class UserTemplate(SQLModel, table=True):
    """A persona template saved by a user from a clone's prompts (same shape as built-ins)."""

    __tablename__ = "user_template"

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    name: str
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    """A signed-in person; `id` is the owner_id of their rows. Identity is (issuer, subject), never e-mail."""

    __tablename__ = "user"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    issuer: str
    subject: str
    name: Optional[str] = None
    email: Optional[str] = None
    is_admin: bool = False
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    """A named service-API token; only its SHA-256 is stored, `prefix` and `last4` are for display."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(default=LOCAL_OWNER, index=True)
    name: str
    token_hash: str = Field(sa_column=Column(String, nullable=False, unique=True))
    prefix: str
    last4: str
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None


# Analytics' latency query reads only this index (filters first, then every stage's milliseconds).
TIMING_INDEX = ("owner_id", "role", "day", "status", "clone_id", "provider", "model", "v_system", "v_rag", "v_user",
                "retrieval_ms", "first_token_ms", "total_ms", "stt_ms", "first_audio_ms", "speech_ms")


class MessageStat(SQLModel, table=True):
    """One message's figures in plain columns (core.message_stats keeps it in step; analytics reads it)."""

    __tablename__ = "message_stat"
    __table_args__ = (Index("ix_message_stat_owner_day", "owner_id", "day"),
                      Index("ix_message_stat_clone_day", "clone_id", "day"),
                      Index("ix_message_stat_timings", *TIMING_INDEX))

    message_id: str = Field(sa_column=Column(String, ForeignKey("message.id", ondelete="CASCADE"), primary_key=True))
    owner_id: str = LOCAL_OWNER
    clone_id: str
    conversation_id: str
    role: str
    status: str = "complete"
    provider: Optional[str] = None
    model: Optional[str] = None
    v_system: Optional[int] = None
    v_rag: Optional[int] = None
    v_user: Optional[int] = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    retrieval_ms: Optional[float] = None
    first_token_ms: Optional[float] = None
    total_ms: Optional[float] = None
    stt_ms: Optional[float] = None
    speech_ms: Optional[float] = None
    first_audio_ms: Optional[float] = None
    voice: bool = False
    opens_thread: bool = False  # the first question of its thread
    sources: int = 0
    cited: int = 0
    top_score: Optional[float] = None
    day: date
    created_at: datetime


class MessageSource(SQLModel, table=True):
    """One document an answer's sources came from: how many of its passages were retrieved and cited.

    Carries its answer's filter columns (owner, clone, day, status, provider, model, versions) so the
    per-document figures need no join."""

    __tablename__ = "message_source"
    __table_args__ = (Index("ix_message_source_owner_day", "owner_id", "day"),
                      Index("ix_message_source_clone_day", "clone_id", "day"))

    message_id: str = Field(sa_column=Column(String, ForeignKey("message.id", ondelete="CASCADE"), primary_key=True))
    position: int = Field(primary_key=True)
    owner_id: str = LOCAL_OWNER
    clone_id: str
    day: date
    status: str = "complete"
    provider: Optional[str] = None
    model: Optional[str] = None
    v_system: Optional[int] = None
    v_rag: Optional[int] = None
    v_user: Optional[int] = None
    document_id: str = ""
    document: str = ""
    retrieved: int = 0
    cited: int = 0
    top_score: Optional[float] = None


class DailyKey(SQLModel):
    """The key of a daily rollup row: owner, UTC day, clone, provider, model, prompt versions."""

    owner_id: str = Field(default=LOCAL_OWNER, primary_key=True)
    day: date = Field(primary_key=True)
    clone_id: str = Field(primary_key=True)
    provider: str = Field(default="", primary_key=True)
    model: str = Field(default="", primary_key=True)
    v_system: int = Field(default=0, primary_key=True)
    v_rag: int = Field(default=0, primary_key=True)
    v_user: int = Field(default=0, primary_key=True)


class AnalyticsDaily(DailyKey, table=True):
    """message_stat summed per owner, clone, UTC day, provider, model and prompt versions.

    Kept in step by database triggers on message_stat (migration 0004: every insert, update and
    delete, cascades included), so the Analytics page's counts, tokens and costs read a few
    thousand rows instead of every message. The key has no NULLs (so it can be a primary key on
    both databases): no provider or model is stored as "", an unsaved prompt draft (no version)
    as 0; core.analytics turns them back into NULL."""

    __tablename__ = "analytics_daily"

    messages: int = 0
    questions: int = 0
    answers: int = 0
    voice_turns: int = 0
    threads: int = 0
    errors: int = 0
    answered: int = 0  # answers that did not fail
    nothing_retrieved: int = 0  # ... that found no source
    none_cited: int = 0  # ... that found sources and cited none
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class AnalyticsSourceDaily(DailyKey, table=True):
    """message_source summed per owner, clone, UTC day, provider, model, prompt versions and document
    (triggers keep it in step, like AnalyticsDaily; same key conventions).

    `retrieved` / `cited` count passages and `answers` the answers that cited the document, over
    answers that did not fail; `cited_any` counts citing answers of any status."""

    __tablename__ = "analytics_source_daily"

    document_id: str = Field(default="", primary_key=True)
    document: str = Field(default="", primary_key=True)
    rows: int = 0
    retrieved: int = 0
    cited: int = 0
    answers: int = 0
    cited_any: int = 0


import core.message_stats  # noqa: E402,F401  (keeps message_stat / message_source in step with every saved message)
