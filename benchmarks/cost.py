"""Cost per validated atom on the large example: one model, the escalating schedule, batches.

Runs ``mge run --provider anthropic`` on the large example against the local Messages API
server, once per configuration, in one session, and prints the server's bill (per model, at the
price table's prices; batches at half price), the precision and the cost per validated atom
side by side:

- ``single model``: the seed's schedule on one current model: Sonnet 5.5 for every attempt
  (it takes no temperature, so the attempts differ only by the errors fed back);
- ``escalating``: the default for current models: Haiku 5.5 at low effort, then Sonnet 5.5 at
  medium, high and xhigh effort;
- ``escalating, batch``: the same schedule through the Message Batches API (``--batch``).

The server answers every request with the atom's reference implementation, with a code fault
injected at a rate set per model and effort (``faulty_reference_responder``). THESE RATES ARE
ASSUMPTIONS, not measurements of the real models: ``--sonnet-fault-rate`` (default 0.10, the
simulated model's default) and ``--haiku-fault-rate`` (default 0.25). Run with other rates to
see how the comparison moves.

    .venv/bin/python benchmarks/cost.py [--plan examples/masterplans/ledger_library.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mge_pipeline.planning import load_masterplan
from mge_pipeline.testing import MessagesApiServer, faulty_reference_responder

ROOT = Path(__file__).resolve().parent.parent
SONNET, HAIKU = "claude-sonnet-5-5", "claude-haiku-5-5"


@dataclass(frozen=True)
class Configuration:
    name: str
    arguments: tuple[str, ...]


CONFIGURATIONS = (
    Configuration("single model (Sonnet 5.5)", ("--schedule", SONNET)),
    Configuration("escalating (Haiku 5.5 low → Sonnet 5.5)", ()),
    Configuration("escalating, batch", ("--batch", "--batch-poll", "0.5")),
)


@dataclass(frozen=True)
class Outcome:
    configuration: Configuration
    billed_usd: float
    ledger_usd: float
    validated: int
    atoms: int
    precision: float
    attempts: int
    by_model: list[dict[str, object]]


def run_once(
    plan: Path, configuration: Configuration, rates: dict[str, float], workdir: Path, seed: int
) -> Outcome:
    responder = faulty_reference_responder(load_masterplan(plan), rates, seed=seed)
    with MessagesApiServer(responder) as server:
        home = workdir / str(abs(hash(configuration.name)))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("MGE_", "ANTHROPIC_"))},
            "MGE_HOME": str(home),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-benchmark",
        }
        output = home / "out"
        command = [sys.executable, "-m", "mge_pipeline.cli", "run", str(plan)]
        command += ["--output", str(output), *configuration.arguments]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        report = json.loads((output / "report.json").read_text()) if output.exists() else None
        if report is None:
            raise SystemExit(f"mge run failed:\n{done.stdout}\n{done.stderr}")
        billed = server.billed_usd()
    return Outcome(
        configuration,
        billed,
        float(report["total_cost_usd"]),
        int(report["atoms_validated"]),
        int(report["atoms_total"]),
        float(report["precision_percent"]),
        int(report["attempts_total"]),
        list(report["models"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--plan", type=Path, default=ROOT / "examples/masterplans/ledger_library.yaml"
    )
    parser.add_argument("--sonnet-fault-rate", type=float, default=0.10)
    parser.add_argument("--haiku-fault-rate", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rates = {SONNET: args.sonnet_fault_rate, HAIKU: args.haiku_fault_rate}
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = [
            run_once(args.plan, configuration, rates, Path(tmp), args.seed)
            for configuration in CONFIGURATIONS
        ]
    base = outcomes[0]
    print(
        f"plan: {args.plan.name}; assumed fault rates: Sonnet 5.5 {args.sonnet_fault_rate:.2f}, "
        f"Haiku 5.5 {args.haiku_fault_rate:.2f}; seed {args.seed}"
    )
    print(
        "| configuration | precision | attempts | bill (USD) | ledger = bill | USD per validated atom | vs single model |"
    )
    print("|---|---|---|---|---|---|---|")
    for o in outcomes:
        per_atom = o.billed_usd / o.validated if o.validated else float("nan")
        base_per_atom = base.billed_usd / base.validated
        print(
            f"| {o.configuration.name} | {o.precision:.1f}% ({o.validated}/{o.atoms}) | "
            f"{o.attempts} | {o.billed_usd:.4f} | {abs(o.ledger_usd - o.billed_usd) < 1e-9} | "
            f"{per_atom:.6f} | {per_atom / base_per_atom:.2f}× |"
        )
    for o in outcomes:
        uses = ", ".join(
            f"{m['model']}{'/' + str(m['effort']) if m['effort'] else ''}: "
            f"{m['passed']}/{m['attempts']} validated, ${float(str(m['cost_usd'])):.4f}"
            for m in o.by_model
        )
        print(f"- {o.configuration.name}: {uses}")


if __name__ == "__main__":
    main()
