"""One chat turn: retrieve -> assemble the prompt -> stream -> cite -> persist.

`ask` is the full turn (a thread, saved messages, timings); `generate` runs the same
assembly and stream on given sources without saving anything (playground, A/B runs);
`answer` consumes `ask` and returns the `ask --json` shape.
"""
from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from time import perf_counter
from typing import Iterator, Sequence, Union

from core.clones import get_clone
from core.conversations import DEFAULT_TITLE, append_message, get_thread, thread_messages, title_from_question
from core.errors import InvalidInput, StudioError
from core.models import Clone, Conversation, Message, utcnow
from core.owners import owner_of
from core.prompts import DEFAULTS, LAYERS, active_prompts, render_layers
from core.providers.base import LLM, ChatRequest, Delta, Source, Usage
from core.providers.catalog import cost_usd as catalog_cost
from core.providers.catalog import model_info
from core.providers.registry import get_llm
from core.providers.remote import llm_for
from core.spend import BudgetReached, acquire_stream, check_budget, release_stream

log = logging.getLogger(__name__)

DEFAULT_CONTEXT_WINDOW = 8192
HISTORY_LIMIT = 40
MESSAGE_OVERHEAD = 4  # tokens of framing per chat message
MAX_QUESTION_CHARS = 8000
NO_SOURCES = "(No passages in the knowledge base matched this question.)"
UNEXPECTED = "Something went wrong while answering; please try again."
STOPPED = "The answer was stopped before it finished."
INTERRUPTED = "interrupted"  # status of an answer cut short by the user (a voice call's barge-in)
VOICE_MODE = ("You are speaking on a live voice call: answer in one to three short spoken sentences, "
              "with no lists, headings or Markdown, and keep the [n] source markers.")
_CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


@dataclass(frozen=True)
class Retrieved:
    thread_id: str
    sources: list[Source]
    timings_ms: dict[str, float]


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class StreamEnd:
    """The model's text is complete (before it is cited and saved): a voice turn speaks its last piece now."""


@dataclass(frozen=True)
class Finished:
    message: Message
    citations: list[dict]


ChatEvent = Union[Retrieved, Token, StreamEnd, Finished]


# ---------------------------------------------------------------- assembly


_SOURCES_TAG = re.compile(r"<(?=\s*/?\s*sources\b)", re.IGNORECASE)


def _label(value: str) -> str:
    """A file name or heading for the line above a fenced passage: one line, no angle brackets,
    so a document cannot close the <sources> block or start a line of its own."""
    return " ".join(str(value or "").split()).replace("<", "‹").replace(">", "›")


def format_sources(sources: Sequence[Source]) -> str:
    """Numbered sources, each fenced so that its text reads as data, never as instructions.

    Everything from a document is escaped: its file name and heading are flattened to one line
    without angle brackets, its passage sits in a fence longer than any backtick run inside it,
    with any <sources> / </sources> tag in it defused.
    """
    if not sources:
        return NO_SOURCES
    blocks = []
    for source in sources:
        where = _label(source.document) + (f", page {int(source.page)}" if source.page else "")
        where += f" — {_label(source.heading)}" if _label(source.heading) else ""
        text = _SOURCES_TAG.sub("‹", source.text.strip())
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        fence = "`" * max(3, longest + 1)
        blocks.append(f"[{source.n}] {where}\n{fence}text\n{text}\n{fence}")
    return "\n\n".join(blocks)


def prompt_layers(session, clone: Clone, overrides: dict[str, str] | None = None) -> tuple[dict, dict]:
    """The content of each layer (an override, else the active version) and its version number."""
    active = active_prompts(session, clone.id)
    contents, versions = {}, {}
    for layer in LAYERS:
        if overrides and overrides.get(layer) is not None:
            contents[layer], versions[layer] = overrides[layer], None
        elif layer in active:
            contents[layer], versions[layer] = active[layer].content, active[layer].version
        else:
            contents[layer], versions[layer] = DEFAULTS[layer], None
    return contents, versions


def context_window(provider: str, model: str) -> int:
    """The model's context window from the provider catalog when it knows the model."""
    try:
        return int(model_info(provider, model).context_window or DEFAULT_CONTEXT_WINDOW)
    except StudioError as error:  # a provider the registry does not describe
        log.debug("No context window known for %s/%s (%s); using %d", provider, model, error, DEFAULT_CONTEXT_WINDOW)
        return DEFAULT_CONTEXT_WINDOW


def cost_usd(provider: str, model: str, input_tokens: int, output_tokens: int) -> float:
    try:
        return float(catalog_cost(provider, model, input_tokens, output_tokens))
    except StudioError as error:
        log.debug("No price known for %s/%s (%s)", provider, model, error)
        return 0.0


def history_turns(history: Sequence) -> list[dict]:
    """Earlier question/answer pairs as chat messages; unanswered or failed turns are left out."""
    turns, pending = [], None
    for item in history:
        role, content, status = _fields(item)
        if role == "user":
            pending = content
        elif role == "assistant" and pending and content and status != "error":
            turns += [{"role": "user", "content": pending}, {"role": "assistant", "content": content}]
            pending = None
    return turns


def _fields(item) -> tuple[str, str, str]:
    if isinstance(item, dict):
        return item.get("role", ""), str(item.get("content") or ""), item.get("status", "complete")
    return item.role, item.content or "", item.status


@lru_cache(maxsize=4096)
def _history_tokens(text: str) -> int:
    """Earlier messages come back every turn; each is counted once per process."""
    from core.tokens import count_tokens

    return count_tokens(text)


def _within_budget(turns: list[dict], budget: int) -> list[dict]:
    """The newest question/answer pairs whose tokens fit in `budget`."""
    if not turns or budget <= 0:
        return []
    sizes = [_history_tokens(m["content"]) + MESSAGE_OVERHEAD for m in turns]
    start = len(turns)
    while start >= 2 and sizes[start - 2] + sizes[start - 1] <= budget:
        budget -= sizes[start - 2] + sizes[start - 1]
        start -= 2
    return turns[start:]


@dataclass
class Plan:
    """Everything needed to call the model for one turn."""

    llm: LLM
    provider: str
    model: str
    request: ChatRequest
    sources: list[Source]


def resolve_model(clone: Clone, provider: str | None = None, model: str | None = None) -> tuple[str, str]:
    """The provider and model a turn uses: the overrides, else the clone's settings, else the provider's default."""
    name = provider or clone.llm_provider
    if model:
        return name, model
    if name == clone.llm_provider and clone.llm_model:
        return name, clone.llm_model
    return name, get_llm(name).default_model


def plan_request(runtime, clone: Clone, layers: dict, question: str, sources: Sequence[Source],
                 history: Sequence = (), provider: str | None = None, model: str | None = None) -> Plan:
    """Render the layers and fit sources and history into the model's context window."""
    from core.tokens import count_tokens

    llm_name, model = resolve_model(clone, provider, model)
    llm = llm_for(runtime, llm_name)
    window = context_window(llm_name, model)
    margin = max(256, window // 10)
    sources = list(sources)
    while True:
        rendered = render_layers(clone, layers, sources=format_sources(sources), question=question)
        system = rendered["system"].strip() + "\n\n" + rendered["rag"].strip()
        user = rendered["user"]
        budget = window - clone.max_tokens - margin - count_tokens(system) - count_tokens(user)
        if budget >= 0 or len(sources) <= 1:
            break
        sources.pop()
    messages = [{"role": "system", "content": system}, *_within_budget(history_turns(history), max(budget, 0)),
                {"role": "user", "content": user}]
    request = ChatRequest(messages=messages, model=model, question=question, sources=sources,
                          temperature=clone.temperature, max_tokens=clone.max_tokens)
    return Plan(llm, llm_name, model, request, sources)


def stream_plan(plan: Plan) -> Iterator[Token | Usage]:
    for event in plan.llm.stream(plan.request):
        if isinstance(event, Delta):
            if event.text:
                yield Token(event.text)
        elif isinstance(event, Usage):
            yield event


def generate(runtime, clone: Clone, question: str, sources: Sequence[Source], *, prompts: dict | None = None,
             history: Sequence = (), provider: str | None = None, model: str | None = None) -> Iterator[Token | Usage]:
    """The model's streamed answer on the given sources; nothing is retrieved or saved."""
    with runtime.session() as session:
        layers, _ = prompt_layers(session, clone, prompts)
    plan = plan_request(runtime, clone, layers, _clean_question(question), sources, history, provider, model)
    check_budget(runtime, plan.provider, clone.owner_id)
    yield from stream_plan(plan)


# ---------------------------------------------------------------- citations


def cited_numbers(text: str) -> set[int]:
    """The n of every [n] (or [n, m]) marker in an answer."""
    return {int(n) for group in _CITE.findall(text) for n in re.split(r"[,;]", group)}


def citations(sources: Sequence[Source], answer: str) -> list[dict]:
    cited = cited_numbers(answer)
    return [
        {"n": s.n, "document": s.document, "document_id": s.document_id, "page": s.page, "heading": s.heading,
         "chunk_id": s.chunk_id, "text": s.text, "score": round(float(s.score), 4), "cited": s.n in cited,
         "vector_rank": s.vector_rank, "text_rank": s.text_rank, "fused": s.fused, "rerank": s.rerank}
        for s in sources
    ]


# ---------------------------------------------------------------- the turn


def _clean_question(question: str) -> str:
    question = str(question or "").strip()
    if not question:
        raise InvalidInput("Type a question first.")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"That question is too long; keep it under {MAX_QUESTION_CHARS} characters.")
    return question


def _ms(start: float) -> float:
    return round((perf_counter() - start) * 1000, 2)


def _thread_for(session, clone: Clone, thread_id: str | None, question: str) -> tuple[Conversation, list[Message]]:
    if not thread_id:
        thread = Conversation(owner_id=clone.owner_id, clone_id=clone.id, title=title_from_question(question))
        return thread, []
    thread = get_thread(session, thread_id)
    if thread.clone_id != clone.id:
        raise InvalidInput("That chat belongs to another clone; open it from that clone or start a new chat.")
    history = thread_messages(session, thread.id, limit=HISTORY_LIMIT)
    if not history and thread.title == DEFAULT_TITLE:
        thread.title = title_from_question(question)
    return thread, history


_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="chat-retrieval")


def _timed_retrieve(runtime, clone: Clone, question: str):
    from core.knowledge.search import retrieve

    started = perf_counter()
    return retrieve(runtime, clone, question), _ms(started)


class _Turn:
    """The state of one `ask`: what was streamed, measured and finally saved."""

    def __init__(self, runtime, clone_id: str, question: str, thread_id: str | None,
                 provider: str | None, model: str | None, prompts: dict | None,
                 voice: bool = False, cancel=None, timings: dict | None = None, confirmed=None):
        self.runtime, self.start = runtime, perf_counter()
        self.voice, self.cancel, self.extra = voice, cancel, timings if timings is not None else {}
        self.confirmed, self.committed = confirmed, False
        self.interrupted = False
        self.provider, self.model, self.overrides = provider, model, prompts
        self.parts: list[str] = []
        self.sources: list[Source] = []
        self.usage: Usage | None = None
        self.prompt: list[dict] = []
        self.timings: dict[str, float | None] = {"retrieval": None, "first_token": None, "total": None}
        self.question = _clean_question(question)
        with runtime.session() as session:
            self.clone = get_clone(session, clone_id)
            # retrieval needs only the clone: it runs while the thread is loaded and the question saved
            self.pending = _pool.submit(_timed_retrieve, runtime, self.clone, self.question)
            try:
                self.thread, self.history = _thread_for(session, self.clone, thread_id, self.question)
                self.layers, self.versions = prompt_layers(session, self.clone, prompts)
                if confirmed is None:
                    self._commit(session)
            except BaseException:
                self.pending.cancel()
                raise
        self.timings["db"] = _ms(self.start)

    def _commit(self, session) -> None:
        append_message(session, self.thread, Message(role="user", content=self.question))
        self.committed = True

    def commit_if_confirmed(self, wait: bool = False) -> bool:
        """A speculative turn (`confirmed` given) saves its question once `confirmed` is set;
        with `wait`, blocks until it is or `cancel` is (then nothing is ever saved)."""
        while not self.committed:
            if self.confirmed.is_set():
                with self.runtime.session() as session:
                    self._commit(session)
            elif not wait or (self.cancel is not None and self.cancel.is_set()):
                return False
            else:
                self.confirmed.wait(0.02)
        return True

    def run(self) -> Iterator[ChatEvent]:
        retrieval, self.timings["retrieval"] = self.pending.result()
        self.sources = list(retrieval.sources)
        search = {f"search_{key}": value for key, value in retrieval.timings_ms.items()}
        yield Retrieved(self.thread.id, self.sources, {**self.timings, **search})
        started = perf_counter()
        plan = plan_request(self.runtime, self.clone, self.layers, self.question, self.sources, self.history,
                            self.provider, self.model)
        self.provider, self.model, self.sources = plan.provider, plan.model, plan.sources
        if self.voice:
            _voice_mode(plan)
        self.prompt = plan.request.messages
        self.timings["assembly"] = _ms(started)
        try:
            check_budget(self.runtime, plan.provider, self.clone.owner_id)
        except BudgetReached:
            self.usage = Usage(0, 0)  # refused before any call: nothing spent
            raise
        stream = stream_plan(plan)
        for event in stream:
            self.commit_if_confirmed()
            if self.cancel is not None and self.cancel.is_set():
                self.interrupted = True
                stream.close()
                return
            if isinstance(event, Usage):
                self.usage = event
                continue
            if self.timings["first_token"] is None:
                self.timings["first_token"] = _ms(self.start)
            self.parts.append(event.text)
            yield event
        yield StreamEnd()

    def save(self, error: str | None = None) -> Finished | None:
        """The answer saved (None for a speculative turn dropped before it was confirmed)."""
        from core.tokens import count_tokens

        if not self.commit_if_confirmed(wait=True):
            return None
        text = "".join(self.parts)
        status = "complete" if error is None else ("partial" if text.strip() else "error")
        if self.interrupted and error is None:
            status = INTERRUPTED
        self.timings["total"] = _ms(self.start)
        self.timings.update(self.extra)  # a voice turn's speech / stt / first_audio, set by the caller
        usage = self.usage or Usage(
            input_tokens=count_tokens("\n".join(m["content"] for m in self.prompt)),
            output_tokens=count_tokens(text),
        )
        found = citations(self.sources, text)
        provider = self.provider or self.clone.llm_provider
        model = self.model or self.clone.llm_model
        message = Message(
            role="assistant", content=text, status=status, error=error, provider=provider, model=model,
            citations=found, prompt_versions=self.versions, input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens, timings=self.timings,
            cost_usd=cost_usd(provider, model, usage.input_tokens, usage.output_tokens),
        )
        with self.runtime.session() as session:
            thread = session.get(Conversation, self.thread.id)
            clone = session.get(Clone, self.clone.id)
            if clone is not None:
                clone.last_used_at = utcnow()
                session.add(clone)
            if thread is None:
                raise InvalidInput("That chat was deleted while the answer was being written.")
            message = append_message(session, thread, message)
        return Finished(message, found)


def _voice_mode(plan: Plan) -> None:
    """A call asks for short spoken answers: an instruction for cloud models, fewer words offline."""
    if plan.llm.offline:
        from dataclasses import replace

        plan.request = replace(plan.request, max_tokens=min(plan.request.max_tokens, 120))
        return
    system = plan.request.messages[0]
    plan.request.messages[0] = {**system, "content": system["content"] + "\n\n" + VOICE_MODE}


def ask(runtime, clone_id: str, question: str, thread_id: str | None = None, **kw) -> Iterator[ChatEvent]:
    """`_ask`, one at a time per owner (the runtime's): a second stream while one runs is refused
    with StreamBusy before anything is saved."""
    owner = owner_of(runtime)
    slot = acquire_stream(owner)
    try:
        yield from _ask(runtime, clone_id, question, thread_id, **kw)
    finally:
        release_stream(owner, slot)


def _ask(runtime, clone_id: str, question: str, thread_id: str | None = None, *, provider: str | None = None,
         model: str | None = None, prompts: dict[str, str] | None = None, voice: bool = False,
         cancel=None, timings: dict | None = None, confirmed=None) -> Iterator[ChatEvent]:
    """One chat turn, streamed: Retrieved, then Token..., then Finished with the saved answer.

    The question is saved before anything else; the answer is saved complete, partial (the
    stream failed after some text, which is kept) or error (one plain sentence in `error`).
    `voice` asks for a short spoken answer; once `cancel` (a threading.Event) is set the stream
    stops and what was said is saved with status "interrupted"; `timings` (read at save time)
    are added to the answer's own. With `confirmed` (a threading.Event) the turn is speculative:
    it retrieves and streams at once but saves nothing (question or answer) until `confirmed`
    is set; `cancel` before that drops it without a trace (no Finished).
    """
    turn = _Turn(runtime, clone_id, question, thread_id, provider, model, prompts, voice, cancel, timings, confirmed)
    error: str | None = None
    try:
        yield from turn.run()
    except GeneratorExit:
        if turn.committed:
            turn.save(STOPPED)
        raise
    except StudioError as failure:
        error = str(failure)
    except Exception:  # a provider bug must not lose the question or the partial answer
        log.exception("Chat turn failed for clone %s", turn.clone.id)
        error = UNEXPECTED
    finished = turn.save(error)
    if finished is not None:
        yield finished


def answer(runtime, clone_id: str, question: str, thread_id: str | None = None, **kw) -> dict:
    """Run `ask` to the end and return the `ask --json` shape."""
    finished = None
    for event in ask(runtime, clone_id, question, thread_id, **kw):
        if isinstance(event, Finished):
            finished = event
    return answer_shape(finished)


def answer_shape(finished: Finished) -> dict:
    """The `ask --json` shape of a finished turn (the command line and the service API)."""
    message = finished.message
    return {
        "answer": message.content,
        "thread_id": message.conversation_id,
        "provider": message.provider,
        "model": message.model,
        "citations": [{k: c[k] for k in ("n", "document", "page", "text", "score", "cited")} for c in finished.citations],
        "timings_ms": {k: message.timings.get(k) for k in ("retrieval", "first_token", "total")},
        "prompt_versions": message.prompt_versions,
        "status": message.status,
        "error": message.error,
    }
