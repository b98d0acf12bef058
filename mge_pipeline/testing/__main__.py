"""``python -m mge_pipeline.testing --plan PLAN [--port N]``: the local Messages API server.

It answers each atom's prompt with that atom's reference implementation from the plan, so
``mge run --provider anthropic`` can run end to end with ``ANTHROPIC_BASE_URL`` pointing here.
With ``--script build`` instead, it answers ``mge build`` / ``mge plan`` for the scripted
request (``testing/scripted.py``): discovery, planning, decomposition and generation.
"""

from __future__ import annotations

import argparse
import sys
import threading

from mge_pipeline.planning import load_masterplan
from mge_pipeline.testing.messages_api import MessagesApiServer, Responder, reference_responder
from mge_pipeline.testing.scripted import BUILD_REQUEST, build_responder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mge_pipeline.testing", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--plan", help="masterplan whose references to answer with")
    source.add_argument(
        "--script", choices=("build",), help="answer mge build for the scripted request"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    args = parser.parse_args(argv)
    responder: Responder
    if args.plan:
        responder, what = reference_responder(load_masterplan(args.plan)), f"'{args.plan}'"
    else:
        responder, what = build_responder(), f"mge build {BUILD_REQUEST!r}"
    server = MessagesApiServer(responder, port=args.port, latency_seconds=args.latency)
    server.start()
    sys.stdout.write(f"Messages API for {what} on {server.url}\n")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
