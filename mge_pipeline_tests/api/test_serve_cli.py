"""``mge serve`` as a user starts it: bad tokens refused with one line each (exit 2), good
ones serve the OpenAPI document and the page on the chosen loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mge_pipeline_tests.conftest import free_port, stop_process

pytestmark = pytest.mark.e2e


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MGE_", "ANTHROPIC_"))}
    return {**env, "MGE_HOME": str(home), **extra}


@pytest.mark.parametrize(
    ("tokens", "lines"),
    [
        pytest.param(
            "", ["error: no API tokens: set MGE_API_TOKENS or MGE_API_TOKENS_FILE"], id="none"
        ),
        pytest.param(
            "ana:short:review;bo:" + "b" * 20 + ":admin",
            [
                "error: API token entry 1 (ana): the token is shorter than 16 characters",
                "error: API token entry 2 (bo): unknown scope(s) admin"
                " (known: read, review, operate)",
            ],
            id="short-and-unknown-scope",
        ),
    ],
)
def test_bad_tokens_stop_the_server_before_it_starts(
    tmp_path: Path, tokens: str, lines: list[str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mge_pipeline.cli", "serve", "--port", str(free_port())],
        env=_env(tmp_path, MGE_API_TOKENS=tokens),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == lines


def test_mge_serve_answers_on_loopback(tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text("# reviewers\nana:" + "a" * 24 + ":review\n")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mge_pipeline.cli", "serve", "--port", str(port)],
        env=_env(tmp_path, MGE_API_TOKENS_FILE=str(token_file)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # importing Dagster takes a while on a busy machine
        while True:
            assert process.poll() is None, "mge serve exited"
            try:
                document = httpx.get(f"{url}/openapi.json", timeout=2).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "mge serve did not answer"
                time.sleep(0.3)
        assert document["info"]["title"] == "MGE API"
        headers = {"Authorization": "Bearer " + "a" * 24}
        assert httpx.get(f"{url}/api/v2/review/queue", headers=headers).json() == []
        assert httpx.get(f"{url}/review").status_code == 401  # the sign-in form
        assert "API token" in httpx.get(f"{url}/review").text
    finally:
        stop_process(process)  # type: ignore[arg-type]
