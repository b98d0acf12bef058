"""The Anthropic provider through the real SDK against a local server speaking the Messages API."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mge_pipeline.exceptions import ProviderError, ProviderFatalError
from mge_pipeline.generation import AnthropicProvider, GenerationRequest
from mge_pipeline.generation.prompts import PromptBlock
from mge_pipeline_tests.factories import make_atom


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def message(text: str, *, stop_reason: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 1200,
            "output_tokens": 80,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 300,
        },
    }


def api_error(kind: str, text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": text}}


class MessagesServer:
    """Replies from a script and records every request body and header."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                server.requests.append(
                    (
                        {k.lower(): v for k, v in self.headers.items()},
                        json.loads(self.rfile.read(length)),
                    )
                )
                reply = server.replies.pop(0)
                payload = json.dumps(reply.body or {}).encode()
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("request-id", f"req_{len(server.requests)}")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server() -> Iterator[MessagesServer]:
    running = MessagesServer()
    thread = threading.Thread(target=running.httpd.serve_forever, daemon=True)
    thread.start()
    yield running
    running.httpd.shutdown()


def _generate(server: MessagesServer, model: str = "claude-sonnet-4-5"):  # type: ignore[no-untyped-def]
    provider = AnthropicProvider(api_key="sk-test", model=model, base_url=server.url)
    blocks = (PromptBlock("SYSTEM", cache=True), PromptBlock("FILE"))
    request = GenerationRequest(
        atom=make_atom(id="add"),
        system_blocks=blocks,
        prompt="PROMPT",
        temperature=0.5,
        max_tokens=512,
        attempt_number=2,
    )
    return asyncio.run(provider.generate(request))


def test_answer_usage_and_request_shape(server: MessagesServer) -> None:
    server.replies.append(Reply(body=message("```python\ndef add(a, b):\n    return a + b\n```")))
    response = _generate(server)
    assert "def add" in response.text
    assert (response.input_tokens, response.output_tokens, response.cache_read_tokens) == (
        1200,
        80,
        300,
    )
    headers, body = server.requests[0]
    credentials = headers.get("x-api-key") or headers.get("authorization", "")
    assert credentials.endswith("sk-test") and "anthropic-version" in headers
    assert body["temperature"] == 0.5 and body["max_tokens"] == 512
    assert body["system"][0] == {
        "type": "text",
        "text": "SYSTEM",
        "cache_control": {"type": "ephemeral"},
    }
    assert body["system"][1] == {"type": "text", "text": "FILE"}
    assert body["messages"] == [{"role": "user", "content": "PROMPT"}]


def test_no_temperature_for_models_that_reject_it(server: MessagesServer) -> None:
    server.replies.append(Reply(body=message("ok")))
    _generate(server, model="claude-opus-4-7")
    assert "temperature" not in server.requests[0][1]


def test_truncated_answer_reports_max_tokens(server: MessagesServer) -> None:
    server.replies.append(Reply(body=message("```python\ndef add(", stop_reason="max_tokens")))
    assert _generate(server).stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("reply", "fatal", "retry_after"),
    [
        pytest.param(
            Reply(429, api_error("rate_limit_error", "slow down"), {"retry-after": "7"}),
            False,
            7.0,
            id="rate-limited",
        ),
        pytest.param(
            Reply(529, api_error("overloaded_error", "Overloaded")), False, None, id="overloaded"
        ),
        pytest.param(Reply(500, api_error("api_error", "boom")), False, None, id="server-error"),
        pytest.param(
            Reply(401, api_error("authentication_error", "invalid x-api-key")),
            True,
            None,
            id="bad-key",
        ),
        pytest.param(
            Reply(400, api_error("invalid_request_error", "bad")), True, None, id="bad-request"
        ),
        pytest.param(
            Reply(429, api_error("rate_limit_error", "You have reached your spend limit")),
            True,
            None,
            id="spend-limit",
        ),
    ],
)
def test_errors_are_retryable_or_fatal(
    server: MessagesServer, reply: Reply, fatal: bool, retry_after: float | None
) -> None:
    server.replies.append(reply)
    with pytest.raises(ProviderError) as caught:
        _generate(server)
    assert isinstance(caught.value, ProviderFatalError) is fatal
    assert caught.value.retry_after == retry_after
    assert len(server.requests) == 1, "the SDK's own retries are off: one layer retries"
