"""``python -m mge_pipeline.testing --plan PLAN [--port N]``: the local Messages API server.

It answers each atom's prompt with that atom's reference implementation from the plan, so
``mge run --provider anthropic`` can run end to end with ``ANTHROPIC_BASE_URL`` pointing here.
"""

from __future__ import annotations

import argparse
import sys
import threading

from mge_pipeline.planning import load_masterplan
from mge_pipeline.testing.messages_api import MessagesApiServer, reference_responder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mge_pipeline.testing", description=__doc__)
    parser.add_argument("--plan", required=True, help="masterplan whose references to answer with")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    args = parser.parse_args(argv)
    plan = load_masterplan(args.plan)
    server = MessagesApiServer(
        reference_responder(plan), port=args.port, latency_seconds=args.latency
    )
    server.start()
    sys.stdout.write(f"Messages API for '{plan.id}' on {server.url}\n")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
