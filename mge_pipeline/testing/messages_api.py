"""A local server speaking the Anthropic Messages API, scriptable per request.

The real ``anthropic`` SDK talks to it through ``base_url``, so everything from the SDK's HTTP
handling to our retry layer is exercised for real; only the model is replaced. Each request
takes the next scripted item (an answer or a fault) or, when the script is empty, the
responder's answer. Usage is accounted the way the API bills it, prompt caching included: a
prefix ending at a ``cache_control`` block is written to the cache on first sight (if it is
long enough to be cacheable) and read from it afterwards until its TTL expires. Usage is kept
per model (``usage_by_model``) so a run that changes model can be checked against the bill.

Like the real API it refuses (400) ``temperature`` for models that no longer take one and
``output_config.effort`` for models that have none; it accepts every other request shape.

    with MessagesApiServer(reference_responder(plan)) as server:
        client = AsyncAnthropic(base_url=server.url, api_key="test")
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mge_pipeline.domain import MasterPlan
from mge_pipeline.generation.faults import FaultKind as CodeFault
from mge_pipeline.generation.faults import inject_fault
from mge_pipeline.generation.pricing import ModelPrice, PriceBook, call_cost, estimate_tokens
from mge_pipeline.generation.prompt_cache import DEFAULT_CACHE_MIN_TOKENS, PromptCache
from mge_pipeline.generation.schedule import accepts_effort, accepts_temperature


class FaultKind(StrEnum):
    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    DROP_CONNECTION = "drop_connection"
    SLOW = "slow"
    MALFORMED_JSON = "malformed_json"
    EMPTY_CONTENT = "empty_content"
    TRUNCATED = "truncated"
    AUTHENTICATION = "authentication"
    BAD_REQUEST = "bad_request"
    SPEND_LIMIT = "spend_limit"
    REQUEST_TIMEOUT = "request_timeout"
    CONFLICT = "conflict"


_ERRORS: dict[FaultKind, tuple[int, str, str]] = {
    FaultKind.RATE_LIMIT: (429, "rate_limit_error", "Request rate has exceeded your rate limit."),
    FaultKind.OVERLOADED: (529, "overloaded_error", "Overloaded"),
    FaultKind.SERVER_ERROR: (500, "api_error", "Internal server error"),
    FaultKind.AUTHENTICATION: (401, "authentication_error", "invalid x-api-key"),
    FaultKind.BAD_REQUEST: (400, "invalid_request_error", "messages: field required"),
    FaultKind.SPEND_LIMIT: (429, "rate_limit_error", "You have reached your spend limit."),
    FaultKind.REQUEST_TIMEOUT: (408, "timeout_error", "Request timed out."),
    FaultKind.CONFLICT: (409, "conflict_error", "Conflict."),
}


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    retry_after: float | None = None
    delay_seconds: float = 0.0
    retry_after_ms: float | None = None
    should_retry: bool | None = None
    """Sent as ``x-should-retry`` when set: the server's word wins over the status code."""


@dataclass(frozen=True)
class Answer:
    text: str
    stop_reason: str = "end_turn"


@dataclass(frozen=True)
class RecordedRequest:
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float
    batch_id: str | None = None
    """Set for a request that came in a Message Batch (billed at the batch price)."""

    @property
    def prompt(self) -> str:
        """The user turn's text, however its content is shaped."""
        return "\n".join(_texts(self.body.get("messages", [])))

    @property
    def system(self) -> str:
        system = self.body.get("system", "")
        return system if isinstance(system, str) else "\n".join(_texts(system))

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def effort(self) -> str | None:
        effort = (self.body.get("output_config") or {}).get("effort")
        return str(effort) if effort is not None else None


@dataclass
class ServerUsage:
    """What the server billed, summed over every successful answer."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0

    def cost(self, price: ModelPrice) -> float:
        """What the server billed, at ``price``: the figure MGE's own accounting must match."""
        return call_cost(
            price,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_write_tokens=self.cache_write_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens,
            cache_read_tokens=self.cache_read_tokens,
        )


Responder = Callable[[RecordedRequest], str]
_BATCH_PATH = re.compile(r"/v1/messages/batches/(msgbatch_\w+)(/results|/cancel)?")


@dataclass(frozen=True)
class BatchView:
    id: str
    custom_ids: list[str]
    status: str
    canceled: bool


@dataclass
class _Batch:
    """A Message Batch: its requests are answered all at once when it ends."""

    id: str
    created_at: float
    headers: dict[str, str]
    requests: list[tuple[str, dict[str, Any]]]
    status: str = "in_progress"
    cancel_requested: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)
    ended_at: float | None = None

    def view(self) -> BatchView:
        return BatchView(self.id, [i for i, _ in self.requests], self.status, self.cancel_requested)

    def payload(self, base_url: str) -> dict[str, Any]:
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if self.status == "ended":
            for line in self.results:
                counts[line["result"]["type"]] += 1
        else:
            counts["processing"] = len(self.requests)
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.status,
            "request_counts": counts,
            "created_at": _rfc3339(self.created_at),
            "expires_at": _rfc3339(self.created_at + 86400),
            "ended_at": _rfc3339(self.ended_at) if self.ended_at else None,
            "cancel_initiated_at": _rfc3339(self.created_at) if self.cancel_requested else None,
            "archived_at": None,
            "results_url": (
                f"{base_url}/v1/messages/batches/{self.id}/results"
                if self.status == "ended"
                else None
            ),
        }


ScriptItem = Fault | Answer


@dataclass
class _State:
    responder: Responder
    latency_seconds: float
    script: deque[ScriptItem] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    usage: ServerUsage = field(default_factory=ServerUsage)
    usage_by_model: dict[str, ServerUsage] = field(default_factory=dict)
    batch_usage_by_model: dict[str, ServerUsage] = field(default_factory=dict)
    batches: dict[str, _Batch] = field(default_factory=dict)
    batch_delay_seconds: float = 0.0
    batches_held: bool = False
    cache: PromptCache = field(default_factory=PromptCache)
    lock: threading.Lock = field(default_factory=threading.Lock)


class MessagesApiServer:
    """``POST /v1/messages`` on 127.0.0.1, a fresh port each time; a context manager."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        cache_min_tokens: int = DEFAULT_CACHE_MIN_TOKENS,
        latency_seconds: float = 0.0,
        port: int = 0,
    ) -> None:
        self._state = _State(
            responder=responder or (lambda request: "```python\npass\n```"),
            cache=PromptCache(min_tokens=cache_min_tokens),
            latency_seconds=latency_seconds,
        )
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self._state))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def usage(self) -> ServerUsage:
        with self._state.lock:
            return ServerUsage(**vars(self._state.usage))

    @property
    def usage_by_model(self) -> dict[str, ServerUsage]:
        with self._state.lock:
            return {m: ServerUsage(**vars(u)) for m, u in self._state.usage_by_model.items()}

    @property
    def batch_usage_by_model(self) -> dict[str, ServerUsage]:
        with self._state.lock:
            return {m: ServerUsage(**vars(u)) for m, u in self._state.batch_usage_by_model.items()}

    def billed_usd(self, prices: PriceBook | None = None) -> float:
        """The whole bill, each model's usage at that model's price; batches at half price."""
        book = prices or PriceBook()
        batch = PriceBook(overrides=book.overrides, batch=True)
        realtime = sum(u.cost(book.price(m)) for m, u in self.usage_by_model.items())
        batched = sum(u.cost(batch.price(m)) for m, u in self.batch_usage_by_model.items())
        return realtime + batched

    @property
    def batches(self) -> list[BatchView]:
        """Every Message Batch created, oldest first."""
        with self._state.lock:
            return [b.view() for b in self._state.batches.values()]

    def set_batch_delay(self, seconds: float) -> None:
        """A batch ends this long after its creation (checked when it is retrieved)."""
        with self._state.lock:
            self._state.batch_delay_seconds = seconds

    def hold_batches(self, held: bool = True) -> None:
        """While held, no batch ends: a pending batch, for restart tests."""
        with self._state.lock:
            self._state.batches_held = held

    def enqueue(self, *items: ScriptItem) -> None:
        """The next requests get these, in order, before the responder answers again."""
        with self._state.lock:
            self._state.script.extend(items)

    def start(self) -> MessagesApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> MessagesApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def reference_responder(plan: MasterPlan) -> Responder:
    """Answers with the reference implementation of the atom the prompt asks for.

    Like the simulated model it never invents code: an atom without a reference gets prose.
    """
    by_name = {atom.name: atom for atom in plan.atoms()}
    wanted = re.compile(r"^Write the \w+ `([^`]+)`", re.MULTILINE)

    def respond(request: RecordedRequest) -> str:
        match = wanted.search(request.prompt)
        atom = by_name.get(match.group(1)) if match else None
        if atom is None or not atom.reference_implementation:
            return "I have no reference implementation for this atom."
        return f"```{atom.language}\n{atom.reference_implementation.rstrip()}\n```"

    return respond


def faulty_reference_responder(
    plan: MasterPlan, fault_rates: Mapping[str, float], *, seed: int = 0
) -> Responder:
    """The reference, with a code fault at a rate set per model and effort.

    ``fault_rates`` keys are ``model:effort`` or ``model`` (the first that matches wins), or
    ``*`` for any other request. It stands in for models of different strength: an assumption
    a benchmark must state, never a measurement of the real models. The fault is drawn from the
    prompt, model and effort, so the same request always gets the same answer, and a retry (whose
    prompt carries the previous errors) gets a fresh draw.
    """
    reference = reference_responder(plan)

    def respond(request: RecordedRequest) -> str:
        answer = reference(request)
        rate = _rate_for(fault_rates, request.model, request.effort)
        key = f"{seed}:{request.model}:{request.effort}:{request.prompt}"
        rng = random.Random(hashlib.sha256(key.encode()).hexdigest())
        if not answer.startswith("```python\n") or rng.random() >= rate:
            return answer
        code = answer.removeprefix("```python\n").removesuffix("\n```")
        faulty = inject_fault(code, rng.choice(list(CodeFault)), rng)
        return f"```python\n{faulty.rstrip()}\n```"

    return respond


def _rate_for(rates: Mapping[str, float], model: str, effort: str | None) -> float:
    for key in (f"{model}:{effort}", model, "*"):
        if key in rates:
            return rates[key]
    return 0.0


def _handler_for(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?")[0].rstrip("/")
            match = _BATCH_PATH.fullmatch(path)
            batch = state.batches.get(match.group(1)) if match else None
            if match is None or batch is None:
                self._send_json(404, _error("not_found_error", f"no route {self.path}"))
                return
            _advance(batch, state)
            if match.group(2) == "/results":
                if batch.status != "ended":
                    self._send_json(400, _error("invalid_request_error", "batch not ended"))
                    return
                lines = "".join(json.dumps(line) + "\n" for line in batch.results)
                self._send_raw(200, lines.encode(), content_type="application/binary")
                return
            self._send_json(200, batch.payload(self._base_url()))

        def _base_url(self) -> str:
            address = self.server.server_address
            assert isinstance(address, tuple)
            return f"http://{address[0]!s}:{address[1]}"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            raw = self.rfile.read(length)
            path = self.path.split("?")[0].rstrip("/")
            if path != "/v1/messages" and not path.startswith("/v1/messages/batches"):
                self._send_json(404, _error("not_found_error", f"no route {self.path}"))
                return
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                self._send_json(400, _error("invalid_request_error", "body is not JSON"))
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            if path == "/v1/messages/batches":
                self._create_batch(headers, body)
                return
            match = _BATCH_PATH.fullmatch(path)
            if match and match.group(2) == "/cancel" and match.group(1) in state.batches:
                batch = state.batches[match.group(1)]
                batch.cancel_requested = batch.status == "in_progress"
                _advance(batch, state)
                self._send_json(200, batch.payload(self._base_url()))
                return
            if path != "/v1/messages":
                self._send_json(404, _error("not_found_error", f"no route {self.path}"))
                return
            request = RecordedRequest(headers, body, time.time())
            with state.lock:
                state.requests.append(request)
                item = state.script.popleft() if state.script else None
            if state.latency_seconds:
                time.sleep(state.latency_seconds)
            self._serve(request, item)

        def _serve(self, request: RecordedRequest, item: ScriptItem | None) -> None:
            if isinstance(item, Fault):
                self._fault(item, request)
                return
            refused = _refusal(request)
            if refused is not None:
                self._send_json(400, _error("invalid_request_error", refused))
                return
            answer = item or Answer(state.responder(request))
            self._send_json(200, _message(request, answer, state))

        def _fault(self, fault: Fault, request: RecordedRequest) -> None:
            if fault.delay_seconds:
                time.sleep(fault.delay_seconds)
            if fault.kind is FaultKind.DROP_CONNECTION:
                self.close_connection = True
                self.connection.close()
                return
            if fault.kind is FaultKind.SLOW:
                self._send_json(200, _message(request, Answer(state.responder(request)), state))
                return
            if fault.kind is FaultKind.MALFORMED_JSON:
                self._send_raw(200, b'{"id": "msg_broken", "content": [')
                return
            if fault.kind is FaultKind.EMPTY_CONTENT:
                self._send_json(200, _message(request, Answer(""), state, empty=True))
                return
            if fault.kind is FaultKind.TRUNCATED:
                text = state.responder(request)
                cut = Answer(text[: max(1, len(text) // 2)], stop_reason="max_tokens")
                self._send_json(200, _message(request, cut, state))
                return
            status, kind, message = _ERRORS[fault.kind]
            self._send_json(status, _error(kind, message), _fault_headers(fault))

        def _send_json(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            self._send_raw(status, json.dumps(payload).encode(), headers)

        def _create_batch(self, headers: dict[str, str], body: dict[str, Any]) -> None:
            entries = body.get("requests") or []
            ids = [str(entry.get("custom_id", "")) for entry in entries]
            if not entries or len(set(ids)) != len(ids) or not all(ids):
                message = "requests: each needs a unique custom_id, and there must be one"
                self._send_json(400, _error("invalid_request_error", message))
                return
            with state.lock:
                batch_id = f"msgbatch_{len(state.batches) + 1:06d}"
                state.batches[batch_id] = _Batch(
                    batch_id,
                    time.time(),
                    headers,
                    [(i, e["params"]) for i, e in zip(ids, entries, strict=True)],
                )
            self._send_json(200, state.batches[batch_id].payload(self._base_url()))

        def _send_raw(
            self,
            status: int,
            data: bytes,
            headers: dict[str, str] | None = None,
            content_type: str = "application/json",
        ) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("request-id", f"req_{int(time.time() * 1e6):x}")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            try:
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up first (a timeout fault)

        def log_message(self, *args: Any) -> None:
            return

    return Handler


def _message(
    request: RecordedRequest, answer: Answer, state: _State, *, empty: bool = False
) -> dict[str, Any]:
    usage = _bill(request, answer.text, state)
    content = [] if empty else [{"type": "text", "text": answer.text}]
    return {
        "id": f"msg_{len(state.requests):06d}",
        "type": "message",
        "role": "assistant",
        "model": request.body.get("model", "claude-sonnet-5-5"),
        "content": content,
        "stop_reason": answer.stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def _bill(request: RecordedRequest, text: str, state: _State) -> dict[str, Any]:
    """Tokens as the API bills them, and added to the server's totals."""
    bill = state.cache.bill(_prompt_blocks(request.body), scope=request.model)
    output = estimate_tokens(text) if text else 0
    with state.lock:
        buckets = state.batch_usage_by_model if request.batch_id else state.usage_by_model
        per_model = buckets.setdefault(request.model, ServerUsage())
        for usage in (state.usage, per_model):
            usage.requests += 1
            usage.input_tokens += bill.input_tokens
            usage.output_tokens += output
            usage.cache_read_tokens += bill.cache_read_tokens
            usage.cache_write_tokens += bill.cache_write_tokens
            usage.cache_write_1h_tokens += bill.cache_write_1h_tokens
    return {
        "input_tokens": bill.input_tokens,
        "output_tokens": output,
        "cache_creation_input_tokens": bill.cache_write_tokens + bill.cache_write_1h_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": bill.cache_write_tokens,
            "ephemeral_1h_input_tokens": bill.cache_write_1h_tokens,
        },
        "cache_read_input_tokens": bill.cache_read_tokens,
    }


def _advance(batch: _Batch, state: _State) -> None:
    """End the batch once its delay has passed (or at once when canceled): answer every request.

    Each request takes the next script item like a realtime one: a ``Fault`` becomes an
    ``errored`` result of the same error type (no HTTP-level faults exist inside a batch).
    """
    with state.lock:
        if batch.status == "ended":
            return
        due = time.time() >= batch.created_at + state.batch_delay_seconds
        if not batch.cancel_requested and (state.batches_held or not due):
            return
        batch.status = "ended"
        work = [(i, p, state.script.popleft() if state.script else None) for i, p in batch.requests]
    results = [
        _batch_result(batch, custom_id, params, item, state) for custom_id, params, item in work
    ]
    with state.lock:
        batch.results = results
        batch.ended_at = time.time()


def _batch_result(
    batch: _Batch,
    custom_id: str,
    params: dict[str, Any],
    item: ScriptItem | None,
    state: _State,
) -> dict[str, Any]:
    if batch.cancel_requested:
        return {"custom_id": custom_id, "result": {"type": "canceled"}}
    request = RecordedRequest(batch.headers, params, time.time(), batch_id=batch.id)
    with state.lock:
        state.requests.append(request)
    refused = _refusal(request)
    if refused is not None:
        return _errored(custom_id, "invalid_request_error", refused)
    if isinstance(item, Fault):
        if item.kind is FaultKind.TRUNCATED:
            text = state.responder(request)
            cut = Answer(text[: max(1, len(text) // 2)], stop_reason="max_tokens")
            return _succeeded(custom_id, _message(request, cut, state))
        _, kind, message = _ERRORS.get(item.kind, (500, "api_error", "Internal server error"))
        return _errored(custom_id, kind, message)
    answer = item or Answer(state.responder(request))
    return _succeeded(custom_id, _message(request, answer, state))


def _succeeded(custom_id: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}


def _errored(custom_id: str, kind: str, message: str) -> dict[str, Any]:
    return {"custom_id": custom_id, "result": {"type": "errored", "error": _error(kind, message)}}


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _fault_headers(fault: Fault) -> dict[str, str]:
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["retry-after"] = f"{fault.retry_after:g}"
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = f"{fault.retry_after_ms:g}"
    if fault.should_retry is not None:
        headers["x-should-retry"] = "true" if fault.should_retry else "false"
    return headers


def _refusal(request: RecordedRequest) -> str | None:
    """What the real API answers with a 400 for parameters the model does not take."""
    if "temperature" in request.body and not accepts_temperature(request.model):
        return "`temperature` is deprecated for this model."
    if request.effort is not None and not accepts_effort(request.model):
        return f"output_config.effort: this model ({request.model}) does not support effort"
    output_format = (request.body.get("output_config") or {}).get("format")
    if output_format is not None and (
        output_format.get("type") != "json_schema"
        or not isinstance(output_format.get("schema"), dict)
    ):
        return "output_config.format: expected {type: json_schema, schema: {...}}"
    return None


def _prompt_blocks(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(text, cache TTL or None) in the order the API hashes prompts: system, then messages."""
    blocks: list[tuple[str, str | None]] = []
    system = body.get("system", "")
    system_blocks = [{"type": "text", "text": system}] if isinstance(system, str) else system
    for message in [*system_blocks, *body.get("messages", [])]:
        content = message.get("content", message.get("text", ""))
        parts = [{"text": content, **message}] if isinstance(content, str) else content
        for part in parts:
            control = part.get("cache_control") or {}
            ttl = control.get("ttl", "5m") if control else None
            blocks.append((str(part.get("text", "")), ttl))
    return blocks


def _texts(items: Iterable[Any]) -> list[str]:
    texts: list[str] = []
    for item in items:
        content = item.get("content", item.get("text", "")) if isinstance(item, dict) else item
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return texts


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}
