"""Prompt caching on the large example: billed tokens and cost per atom, with and without.

Runs ``mge run --provider anthropic`` twice against the local Messages API server (which bills
cache reads and writes like the API: prefixes ending at a ``cache_control`` block of at least
1024 tokens are cached for five minutes), once with caching and once with ``--no-prompt-caching``,
and prints the server's accounting side by side.

    .venv/bin/python benchmarks/prompt_caching.py [--plan examples/masterplans/ledger_library.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mge_pipeline.generation import call_cost, price_for
from mge_pipeline.planning import load_masterplan
from mge_pipeline.testing import MessagesApiServer, ServerUsage, reference_responder

ROOT = Path(__file__).resolve().parent.parent


def run_once(plan: Path, caching: bool, workdir: Path) -> tuple[ServerUsage, dict[str, object]]:
    with MessagesApiServer(reference_responder(load_masterplan(plan))) as server:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("MGE_", "ANTHROPIC_"))},
            "MGE_HOME": str(workdir / ("cached" if caching else "uncached")),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-benchmark",
        }
        output = workdir / ("out-cached" if caching else "out-uncached")
        command = [
            sys.executable,
            "-m",
            "mge_pipeline.cli",
            "run",
            str(plan),
            "--output",
            str(output),
            "--model",
            "claude-sonnet-4-6",
        ]
        if not caching:
            command.append("--no-prompt-caching")
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"mge run failed:\n{done.stdout}\n{done.stderr}")
        return server.usage, json.loads((output / "report.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--plan", type=Path, default=ROOT / "examples/masterplans/ledger_library.yaml"
    )
    args = parser.parse_args()
    price = price_for("claude-sonnet-4-6")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for caching in (True, False):
            usage, report = run_once(args.plan, caching, Path(tmp))
            cost = call_cost(price, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                             cache_write_tokens=usage.cache_write_tokens,
                             cache_read_tokens=usage.cache_read_tokens)  # fmt: skip
            atoms = int(str(report["atoms_total"]))
            rows.append((caching, usage, cost, atoms, report))
    print(f"plan: {args.plan.name}, model claude-sonnet-4-6 ($3 / $15 per Mtok)")
    print(
        "caching | requests | input | cache write | cache read | output | cost USD | USD/atom | billed input-equivalent tokens/atom"
    )
    for caching, usage, cost, atoms, report in rows:
        equivalent = (
            usage.input_tokens + 1.25 * usage.cache_write_tokens + 0.1 * usage.cache_read_tokens
        )
        print(f"{'on ' if caching else 'off'}     | {usage.requests:>8} | {usage.input_tokens:>6} | "
              f"{usage.cache_write_tokens:>11} | {usage.cache_read_tokens:>10} | {usage.output_tokens:>6} | "
              f"{cost:>8.4f} | {cost / atoms:.5f} | {equivalent / atoms:,.0f}")  # fmt: skip
        assert abs(cost - float(str(report["total_cost_usd"]))) < 1e-9, "report matches the server"
    (_, _, with_cache, _, _), (_, _, without, _, _) = rows
    print(f"cost with caching / without: {with_cache / without:.3f}")


if __name__ == "__main__":
    main()
