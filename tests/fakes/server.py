"""A tiny threaded HTTP server on 127.0.0.1 whose routes are plain Python handlers.

A handler takes the recorded `Request` and returns a `Reply` (JSON, bytes, any status and
headers), a `Stream` (chunked bytes or server-sent events, optionally trickling and then
stalling) or a `Stall` (headers never arrive). Every wait is bounded and ends early when the
server stops, so no test can hang on it.

    def test_x(fake_server):
        fake_server.route("POST", "/v1/chat/completions", lambda request: Reply(json={...}))
        ... call fake_server.url ...
        assert fake_server.requests[0].headers["authorization"] == "Bearer sk-test"

Use `sequence(a, b, ...)` for a route that answers differently on each call (500 then 200).
"""
from __future__ import annotations

import json as jsonlib
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable, Union
from urllib.parse import parse_qs, urlsplit

import pytest

MAX_WAIT = 30.0  # no stall or trickle ever outlives this, whatever a test asks for


@dataclass
class Request:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self):
        return jsonlib.loads(self.body or b"null")

    def form(self) -> dict[str, bytes]:
        """The parts of a multipart/form-data body by field name (file parts give their bytes)."""
        head = f"Content-Type: {self.headers.get('content-type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        parts = {}
        for part in message.iter_parts():
            parts[part.get_param("name", header="content-disposition")] = part.get_payload(decode=True)
        return parts

    def filenames(self) -> dict[str, str]:
        head = f"Content-Type: {self.headers.get('content-type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        return {
            part.get_param("name", header="content-disposition"): part.get_filename()
            for part in message.iter_parts()
            if part.get_filename()
        }


@dataclass
class Reply:
    """A complete response. `json` wins over `body` when given."""

    status: int = 200
    json: object = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self) -> bytes:
        return jsonlib.dumps(self.json).encode() if self.json is not None else self.body


@dataclass
class Stream:
    """A chunked response: `chunks` are sent `interval` seconds apart, then the connection
    stays open for `stall_after` seconds before the stream ends (a stall mid-stream)."""

    chunks: Iterable[bytes | str]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/event-stream"
    interval: float = 0.0
    stall_after: float = 0.0


@dataclass
class Stall:
    """Accept the request, then send nothing for `seconds` (the client should give up first)."""

    seconds: float = 5.0


Response = Union[Reply, Stream, Stall]
Handler = Callable[[Request], Response]


def sse(events: Iterable[object], *, done: bool = False, event_names: bool = False) -> list[bytes]:
    """Server-sent event frames. Items are JSON-encoded unless already str/bytes.

    With `event_names`, each item is (name, data) and an `event:` line is written (Anthropic).
    With `done`, a final `data: [DONE]` frame is appended (OpenAI)."""
    frames = []
    for item in events:
        name = None
        if event_names:
            name, item = item
        data = item if isinstance(item, str) else jsonlib.dumps(item)
        prefix = f"event: {name}\n" if name else ""
        frames.append(f"{prefix}data: {data}\n\n".encode())
    if done:
        frames.append(b"data: [DONE]\n\n")
    return frames


def sequence(*responses: Response | Handler) -> Handler:
    """A handler answering the n-th call with the n-th response (the last one repeats)."""
    lock = threading.Lock()
    calls = [0]

    def handler(request: Request) -> Response:
        with lock:
            index = min(calls[0], len(responses) - 1)
            calls[0] += 1
        chosen = responses[index]
        return chosen(request) if callable(chosen) else chosen

    return handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection ends by itself
    server: "_Server"

    def log_message(self, *args) -> None:  # keep test output quiet
        return

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self._read_body(),
        )
        self.server.fake.record(request)
        handler = self.server.fake.handler_for(request.method, request.path)
        if handler is None:
            self._send(Reply(404, json={"error": {"message": f"no route {request.method} {request.path}"}}))
            return
        try:
            response = handler(request)
        except Exception as error:  # a broken test handler must fail loudly, not hang the client
            self._send(Reply(599, json={"error": {"message": f"fake handler raised {error!r}"}}))
            raise
        self._send(response)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def _send(self, response: Response) -> None:
        try:
            if isinstance(response, Stall):
                self.server.fake.wait(response.seconds)
                self.close_connection = True
            elif isinstance(response, Stream):
                self._send_stream(response)
            else:
                self._send_reply(response)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: expected in timeout tests
            self.close_connection = True

    def _send_reply(self, reply: Reply) -> None:
        payload = reply.payload()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_stream(self, stream: Stream) -> None:
        self.send_response(stream.status)
        self.send_header("Content-Type", stream.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in stream.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        for index, chunk in enumerate(stream.chunks):
            if index and stream.interval and self.server.fake.wait(stream.interval):
                self.close_connection = True
                return
            data = chunk.encode() if isinstance(chunk, str) else chunk
            if data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
        if stream.stall_after and self.server.fake.wait(stream.stall_after):
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: "FakeServer"


class FakeServer:
    """Routes by (method, path); records every request; stop() wakes every waiting handler."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Handler] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[Request] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, path: str, handler: Response | Handler) -> None:
        """Answer `method path` with a handler, or always with the same response."""
        chosen = handler if callable(handler) else (lambda _request, response=handler: response)
        with self._lock:
            self._routes[(method.upper(), path)] = chosen

    def handler_for(self, method: str, path: str) -> Handler | None:
        with self._lock:
            return self._routes.get((method.upper(), path))

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def calls(self, method: str, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method.upper() and r.path == path]

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds` (capped); True when the server is stopping."""
        return self._stopping.wait(min(max(seconds, 0.0), MAX_WAIT))

    def start(self) -> "FakeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def fake_server():
    """A started FakeServer, stopped after the test. Import this name into a test module to use it."""
    with FakeServer() as server:
        yield server
