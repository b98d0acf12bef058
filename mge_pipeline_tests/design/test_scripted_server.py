"""``python -m mge_pipeline.testing --script build``: the scripted server as a process, as the
README's offline walk-through starts it."""

from __future__ import annotations

import json
import subprocess
import sys

import anthropic

from mge_pipeline.domain.design import Discovery
from mge_pipeline.generation.structured import output_config_for
from mge_pipeline.testing import BUILD_REQUEST
from mge_pipeline_tests.conftest import free_port, stop_process


def test_the_scripted_server_answers_the_discovery_prompt() -> None:
    port = free_port()
    command = [sys.executable, "-m", "mge_pipeline.testing", "--script", "build"]
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert server.stdout is not None
        first_line = server.stdout.readline().decode()
        assert f"on http://127.0.0.1:{port}" in first_line
        client = anthropic.Anthropic(api_key="test", base_url=f"http://127.0.0.1:{port}")
        message = client.messages.create(
            model="claude-sonnet-5-5",
            max_tokens=1024,
            messages=[{"role": "user", "content": BUILD_REQUEST}],
            output_config=output_config_for(Discovery, "claude-sonnet-5-5"),
        )
        block = message.content[0]
        assert block.type == "text"
        first = json.loads(block.text)
        assert first["project_id"] == "TextKit" and "package" not in first, "wrong on purpose"
        client.close()
    finally:
        stop_process(server)  # type: ignore[arg-type]
        if server.stdout is not None:
            server.stdout.close()
