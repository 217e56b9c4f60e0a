"""The /api routes and /healthz. Every handler reads the body within the size limit, then does
all blocking work (token lookup, rate limit, cache, database, retrieval, the model) in one trip
to Starlette's thread pool, so the event loop that also serves the pages never waits on it.

Every request is answered for the owner of its token, and only with that owner's rows.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Match, Route

from core.api import errors
from core.api.cache import fingerprint, get_cache, reset_cache
from core.api.errors import ApiError, error_response
from core.api.knowledge import knowledge_answer, parse_call
from core.api.limits import get_limiter, max_body_bytes, parse_body, question_from, reset_limiter
from core.api.metrics import owner_metrics
from core.api.tokens import Caller, authenticate
from core.errors import InvalidInput, MissingKey, NotFound, ProviderError, RateLimited, StudioError, TimedOut
from core.providers.net import Policy

log = logging.getLogger(__name__)

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
UNEXPECTED = "Something went wrong on the studio's side; please try again."
MAX_K = 20
HEAVY_WORKERS = max(2, os.cpu_count() or 2)


@dataclass(frozen=True)
class Deferred:
    """Work a handler hands back to be run on the bounded pool for heavy work (retrieval, the
    model): cheap requests (auth, cache hits) never queue behind it, and CPU-bound work does not
    run more threads at once than there are cores."""

    run: Callable[[], object]


def _scoped(runtime, owner_id: str):
    """The runtime acting for the token's owner (owner-scoped sessions where the runtime offers them)."""
    scoped = getattr(runtime, "scoped", None)
    return scoped(owner_id) if scoped is not None else runtime


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-service-token", "").strip() or None


def _status_of(error: StudioError) -> int:
    for kind, status in ((NotFound, 404), (InvalidInput, 400), (MissingKey, 400), (TimedOut, 504),
                         (RateLimited, 503), (ProviderError, 502)):
        if isinstance(error, kind):
            return status
    return 400


def _owned_clone(runtime, caller: Caller, clone_id: str):
    from core.models import Clone

    with runtime.session() as session:
        clone = session.get(Clone, clone_id)
    if clone is None or clone.owner_id != caller.owner_id:
        raise ApiError(404, errors.NO_CLONE)
    return clone


class Api:
    """The service API of one studio process; `get_runtime` is the process's shared runtime."""

    def __init__(self, get_runtime: Callable):
        self._get_runtime = get_runtime
        self._runtime = None
        self._heavy = ThreadPoolExecutor(max_workers=HEAVY_WORKERS, thread_name_prefix="api-heavy")

    def get_runtime(self):
        """The runtime the pages use, taken once at start-up (asking Streamlit's cache from a
        worker thread on every request would log a missing-ScriptRunContext warning each time)."""
        if self._runtime is None:
            self._runtime = self._get_runtime()
        return self._runtime

    # ------------------------------------------------------------ plumbing

    def routes(self) -> list[Route]:
        """The routes to mount under /api, ending with the JSON 404 catch-all."""
        self._routes = [
            Route("/clones", self.list_clones, methods=["GET"]),
            Route("/clones/{clone_id}/ask", self.ask, methods=["POST"]),
            Route("/clones/{clone_id}/search", self.search, methods=["POST"]),
            Route("/metrics", self.metrics, methods=["GET"]),
            Route("/tools/knowledge", self.knowledge, methods=["POST"]),
        ]
        return [*self._routes, Route("/{rest:path}", self.not_found, methods=ALL_METHODS)]

    async def _body(self, request: Request) -> dict:
        limit = max_body_bytes()
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, f"The request body is too large; keep it under {limit // 1024} KB.")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise ApiError(413, f"The request body is too large; keep it under {limit // 1024} KB.")
        return parse_body(bytes(raw))

    def _caller(self, runtime, request: Request) -> Caller:
        caller = authenticate(runtime, _bearer(request))
        if caller is None:
            raise ApiError(401, errors.UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})
        get_limiter().check(caller.token_id)
        return caller

    async def _handle(self, request: Request, work: Callable, *, body: bool = True,
                      deadline: float | None = None) -> Response:
        """Body, then `work(runtime, caller, body)` in the thread pool; every failure as one JSON sentence."""
        try:
            payload = await self._body(request) if body else {}

            def run():
                runtime = self.get_runtime()
                caller = self._caller(runtime, request)
                return work(_scoped(runtime, caller.owner_id), caller, payload)

            async def call():
                result = await run_in_threadpool(run)
                if isinstance(result, Deferred):
                    result = await asyncio.get_running_loop().run_in_executor(self._heavy, result.run)
                return result

            result = await (asyncio.wait_for(call(), deadline) if deadline else call())
        except ApiError as error:
            return error_response(error.status, error.message, error.headers)
        except StudioError as error:
            return error_response(_status_of(error), str(error))
        except asyncio.TimeoutError:
            return error_response(504, "The answer took too long; please try again or ask a shorter question.")
        except Exception:
            log.exception("API request %s %s failed", request.method, request.url.path)
            return error_response(500, UNEXPECTED)
        return result if isinstance(result, Response) else JSONResponse(result)

    # ------------------------------------------------------------ endpoints

    async def list_clones(self, request: Request) -> Response:
        def work(runtime, caller, _):
            from core.clones import clone_cards

            with runtime.session() as session:
                cards = clone_cards(session, caller.owner_id)
            return {"clones": [_clone_json(card) for card in cards]}

        return await self._handle(request, work, body=False)

    async def search(self, request: Request) -> Response:
        def work(runtime, caller, body):
            from core.knowledge.search import retrieve

            clone = _owned_clone(runtime, caller, request.path_params["clone_id"])
            query = question_from(body, "query")
            k = body.get("k")
            if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K):
                raise ApiError(400, f"\"k\" must be a whole number from 1 to {MAX_K}.")

            def run() -> dict:
                found = retrieve(runtime, clone, query, k=k)
                return {"query": query, "results": [_source_json(s) for s in found.sources],
                        "timings_ms": found.timings_ms}

            return Deferred(run)

        return await self._handle(request, work)

    async def knowledge(self, request: Request) -> Response:
        def work(runtime, caller, body):
            clone_id, query = parse_call(body)
            return self._cached(runtime, caller, clone_id, "knowledge", query, lambda clone: _knowledge(runtime, clone, query))

        return await self._handle(request, work)

    async def ask(self, request: Request) -> Response:
        clone_id = request.path_params["clone_id"]

        def work(runtime, caller, body):
            question = question_from(body, "question")
            thread_id = body.get("thread_id")
            if thread_id is not None and not isinstance(thread_id, str):
                raise ApiError(400, "\"thread_id\" must be the id of one of the clone's chats, as a string.")
            options = {name: body.get(name) for name in ("provider", "model") if isinstance(body.get(name), str)}
            if body.get("stream") is True:
                _owned_clone(runtime, caller, clone_id)
                return _sse(_ask_events(runtime, clone_id, question, thread_id, options))
            run = lambda clone: _answer(runtime, clone, question, thread_id, options)  # noqa: E731
            if thread_id:  # an answer inside a chat depends on its history: never cached
                clone = _owned_clone(runtime, caller, clone_id)
                return Deferred(lambda: {**run(clone)[0], "cached": False})
            kind = "ask:" + json.dumps(options, sort_keys=True)
            return self._cached(runtime, caller, clone_id, kind, question, run)

        return await self._handle(request, work, deadline=Policy.from_settings().deadline + 15)

    async def metrics(self, request: Request) -> Response:
        def work(runtime, caller, _):
            return {**owner_metrics(runtime, caller.owner_id), "cache": get_cache().stats(caller.owner_id)}

        return await self._handle(request, work, body=False)

    async def not_found(self, request: Request) -> Response:
        allowed = [method for route in self._routes
                   if route.matches(request.scope)[0] == Match.PARTIAL for method in sorted(route.methods or ())]
        if allowed:
            return error_response(405, f"Use {' or '.join(m for m in allowed if m != 'HEAD')} for this endpoint.",
                                  {"Allow": ", ".join(allowed)})
        return error_response(404, errors.NOT_FOUND)

    def _cached(self, runtime, caller: Caller, clone_id: str, kind: str, question: str, compute) -> dict | Deferred:
        """The cached value for (owner, clone, kind, question) while the clone is unchanged, else `compute`."""
        cache = get_cache()
        current, value = cache.lookup(runtime, caller.owner_id, clone_id, kind, question)
        if current is None:
            raise ApiError(404, errors.NO_CLONE)
        if value is not None:
            return {**value, "cached": True}

        def miss() -> dict:
            value, found, keep = compute(_owned_clone(runtime, caller, clone_id))
            if keep and fingerprint(runtime, caller.owner_id, clone_id) == current:
                cache.store(caller.owner_id, clone_id, kind, question, current, value, found)
            return {**value, "cached": False}

        return Deferred(miss)

    # ------------------------------------------------------------ /healthz (no token, no data)

    async def healthz(self, request: Request) -> Response:
        def check() -> str | None:
            from sqlalchemy import text

            runtime = self.get_runtime()
            try:
                with runtime.engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
            except Exception:
                log.warning("Health check: the database is not reachable", exc_info=True)
                return "The database is not reachable."
            try:
                runtime.store.table.count_rows()
            except Exception:
                log.warning("Health check: the chunk store is not reachable", exc_info=True)
                return "The chunk store is not reachable."
            return None

        try:
            problem = await asyncio.wait_for(run_in_threadpool(check), 10)
        except asyncio.TimeoutError:
            problem = "The health check took too long."
        except Exception:
            log.warning("Health check failed", exc_info=True)
            problem = "The studio could not open its data."
        if problem:
            return JSONResponse({"status": "unavailable", "error": problem}, status_code=503)
        return JSONResponse({"status": "ok"})

    # ------------------------------------------------------------ lifespan

    async def start(self) -> None:
        """Read REDIS_URL and the limits afresh and open the data before the first request."""
        reset_cache()
        reset_limiter()
        self._runtime = None
        try:
            await run_in_threadpool(self.get_runtime)
        except Exception:  # /healthz reports it; the pages show their own error
            log.exception("The studio could not open its data at start-up")
            return
        self._heavy.submit(self._warm)

    def _warm(self) -> None:
        """Import retrieval (LanceDB), open the chunk table and load the offline embedder in the
        background, so the first tool call a voice agent makes is not the one that pays for it."""
        try:
            from core.knowledge import search  # noqa: F401
            from core.providers.remote import embedder_for

            runtime = self.get_runtime()
            runtime.store.table.count_rows()
            embedder_for(runtime, "minilm").embed_query("warm up")
        except Exception:
            log.warning("Warming up retrieval failed; the first request will do it", exc_info=True)

    async def stop(self) -> None:
        self._runtime = None
        reset_cache()
        reset_limiter()


# ---------------------------------------------------------------- work done in the thread pool


def _clone_json(card) -> dict:
    clone = card.clone
    return {"id": clone.id, "name": clone.name, "slug": clone.slug, "description": clone.description,
            "avatar": clone.avatar, "specialty": clone.specialty, "documents": card.documents,
            "conversations": card.chats, "llm_provider": clone.llm_provider, "llm_model": clone.llm_model,
            "language": clone.language, "last_used_at": clone.last_used_at.isoformat() if clone.last_used_at else None}


def _source_json(source) -> dict:
    return {"n": source.n, "document": source.document, "page": source.page, "heading": source.heading,
            "text": source.text, "score": round(float(source.score), 4), "chunk_id": source.chunk_id}


def _knowledge(runtime, clone, query: str) -> tuple[dict, bool, bool]:
    from core.knowledge.search import retrieve

    value, found = knowledge_answer(query, retrieve(runtime, clone, query).sources)
    return value, found, True


def _answer(runtime, clone, question: str, thread_id, options: dict) -> tuple[dict, bool, bool]:
    from core.chat import answer

    result = answer(runtime, clone.id, question, thread_id, **options)
    return result, bool(result["citations"]), result["status"] == "complete"


def _ask_events(runtime, clone_id: str, question: str, thread_id, options: dict) -> Iterator[tuple[str, dict]]:
    from core.chat import Finished, Retrieved, Token, answer_shape, ask

    try:
        for event in ask(runtime, clone_id, question, thread_id, **options):
            if isinstance(event, Retrieved):
                yield "retrieved", {"thread_id": event.thread_id, "sources": [
                    {"n": s.n, "document": s.document, "page": s.page, "score": round(float(s.score), 4)}
                    for s in event.sources]}
            elif isinstance(event, Token):
                yield "token", {"text": event.text}
            elif isinstance(event, Finished):
                yield "done", answer_shape(event)
    except StudioError as error:
        yield "error", {"error": str(error)}
    except Exception:
        log.exception("Streamed API answer failed for clone %s", clone_id)
        yield "error", {"error": UNEXPECTED}


def _sse(events: Iterator[tuple[str, dict]]) -> StreamingResponse:
    """Server-sent events; Starlette iterates the (blocking) generator in its thread pool."""
    lines = (f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n" for name, data in events)
    return StreamingResponse(lines, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
