"""The ``mge`` command line: a thin layer over planning, the compiler and the store.

Exit codes: 0 success, 1 the run failed (its reason is printed), 2 bad input (one line per
problem on stderr, nothing written), 3 a database, API or tool it needs cannot be used (one
line on stderr; ``--verbose`` adds the traceback), 141 its reader went away (``| head``).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mge_pipeline import constants as c
from mge_pipeline import settings
from mge_pipeline.cli_errors import run_guarded
from mge_pipeline.cli_progress import progress_line, wave_counts
from mge_pipeline.domain import ExecutionState, MasterPlan
from mge_pipeline.exceptions import MasterPlanError, MgeError, RunConfigError
from mge_pipeline.execution.plan_bundle import PlanBundle, bundle_masterplan
from mge_pipeline.generation.schedule import (
    AttemptSchedule,
    AttemptStep,
    default_schedule,
    parse_step,
    schedule_problems,
)
from mge_pipeline.planning import load_masterplan, plan_statistics
from mge_pipeline.store import MASTERPLAN_READY, MgeStore

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    return run_guarded(lambda: _handle(args), verbose=bool(getattr(args, "verbose", False)))


def _handle(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args))
    except (MasterPlanError, RunConfigError) as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mge", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--verbose", action="store_true", help="tracebacks of errors, Dagster's logs of a run"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="compile and execute a masterplan on the local instance")
    run.add_argument("plan", type=Path)
    _add_run_options(run)
    run.set_defaults(handler=_run)

    submit = commands.add_parser("submit", help="store a masterplan as ready for the sensor")
    submit.add_argument("plan", type=Path)
    submit.add_argument(
        "--again", action="store_true", help="run it even if this revision already completed"
    )
    submit.set_defaults(handler=_submit)

    status = commands.add_parser("status", help="execution state of recent runs")
    status.add_argument("masterplan_id", nargs="?")
    status.add_argument(
        "--graphql", metavar="URL", help="read it from Dagster's GraphQL API instead of the store"
    )
    status.set_defaults(handler=_status)

    cancel = commands.add_parser(
        "cancel", help="stop a run: no new LLM call, calls in flight finish, report written"
    )
    cancel.add_argument("run_id", help="the Dagster run id (= the execution id)")
    cancel.set_defaults(handler=_cancel)

    pause = commands.add_parser(
        "pause", help="let calls in flight finish and start nothing new; `mge resume` continues"
    )
    pause.add_argument("execution_id")
    pause.set_defaults(handler=_pause)

    resume = commands.add_parser(
        "resume",
        help="continue a paused, cancelled, failed or crashed execution: same id and budget, "
        "nothing validated generated again",
    )
    resume.add_argument(
        "target", help="an execution id, or a masterplan id (its latest unfinished execution)"
    )
    _add_run_options(resume)
    resume.set_defaults(handler=_resume)

    regenerate = commands.add_parser(
        "regenerate",
        help="never serve these atoms (and their dependents) from the cache again, then run",
    )
    regenerate.add_argument("plan", type=Path)
    regenerate.add_argument("atoms", nargs="+", metavar="ATOM")
    regenerate.add_argument(
        "--no-run", action="store_true", help="only invalidate; the next mge run regenerates"
    )
    _add_run_options(regenerate)
    regenerate.set_defaults(handler=_regenerate)

    metrics = commands.add_parser("metrics", help="Prometheus metrics of every MGE process")
    metrics_commands = metrics.add_subparsers(dest="metrics_command", required=True)
    serve = metrics_commands.add_parser("serve", help="serve the merged metrics over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9464)
    serve.set_defaults(handler=_metrics_serve)

    api = commands.add_parser("serve", help="the HTTP API and the review page (one ASGI app)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=c.DEFAULT_API_PORT)
    api.add_argument(
        "--allow-weak-sandbox",
        action="store_true",
        help="without bubblewrap, validate edits under a Python-level guard the code can escape",
    )
    api.set_defaults(handler=_serve)

    check = commands.add_parser("validate-plan", help="check a masterplan without running it")
    check.add_argument("plan", type=Path)
    check.set_defaults(handler=_validate_plan)

    schema = commands.add_parser("schema", help="print the masterplan JSON Schema")
    schema.set_defaults(handler=_schema)

    from mge_pipeline.atomization.cli import add_commands

    add_commands(commands)

    from mge_pipeline.cli_review import add_commands as add_review_commands

    add_review_commands(commands)

    from mge_pipeline.cli_build import add_commands as add_build_commands

    add_build_commands(commands)
    for command in commands.choices.values():  # `mge run plan.yaml --verbose` reads naturally
        command.add_argument(
            "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser


def _add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--provider",
        choices=("anthropic", "simulated"),
        default=None,
        help="default: anthropic if ANTHROPIC_API_KEY is set, else simulated",
    )
    run.add_argument("--model", default=None, help=f"Anthropic model (default {c.DEFAULT_MODEL})")
    run.add_argument("--seed", type=int, default=0, help="simulated model seed")
    run.add_argument("--fault-rate", type=float, default=c.DEFAULT_FAULT_RATE)
    run.add_argument(
        "--latency",
        type=float,
        default=c.DEFAULT_SIMULATED_LATENCY_SECONDS,
        help="simulated seconds per LLM call",
    )
    run.add_argument("--budget", type=float, default=c.DEFAULT_BUDGET_USD, help="USD")
    run.add_argument(
        "--max-concurrent", type=int, default=c.DEFAULT_MAX_CONCURRENT, help="LLM calls in flight"
    )
    run.add_argument(
        "--scheduling",
        choices=("dependencies", "waves"),
        default="dependencies",
        help="start an atom when its dependencies are settled, or when its previous wave closed",
    )
    run.add_argument("--max-attempts", type=int, default=c.DEFAULT_MAX_ATTEMPTS)
    run.add_argument(
        "--schedule",
        action="append",
        default=None,
        metavar="MODEL:EFFORT:TEMP",
        help="one attempt's model, effort, temperature (repeat per attempt; parts may be empty); "
        "default: temperatures where the model takes them, else escalation",
    )
    run.add_argument("--output", type=Path, default=None, help="default: $MGE_OUTPUT_DIR/<plan id>")
    run.add_argument(
        "--no-prompt-caching", action="store_true", help="send no cache_control (to compare)"
    )
    run.add_argument(
        "--allow-weak-sandbox",
        action="store_true",
        help="without bubblewrap, run generated code under a Python-level guard it can escape",
    )
    run.add_argument(
        "--fresh",
        action="store_true",
        help="generate every atom: serve nothing validated earlier from the store",
    )
    run.add_argument(
        "--cross-check",
        choices=["weak", "all", "off"],
        default="weak",
        help="compare validated function atoms with an independent sample of the model before "
        "they settle: those whose tests let a mutant survive (default), all, or none",
    )
    run.add_argument(
        "--batch",
        action="store_true",
        help="submit each round of calls as one Message Batch (half price, answers within 24 h)",
    )
    run.add_argument(
        "--batch-poll", type=float, default=30.0, help="seconds between polls of a pending batch"
    )
    run.add_argument("--rpm", type=int, default=0, help="requests per minute limit (0: none)")
    run.add_argument("--tpm", type=int, default=0, help="input tokens per minute limit (0: none)")


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(MasterPlan.model_json_schema(), indent=2))
    return EXIT_OK


def _validate_plan(args: argparse.Namespace) -> int:
    bundle = bundle_masterplan(load_masterplan(args.plan))
    print(f"{args.plan}: masterplan '{bundle.plan.id}' is valid")
    _print_table([("statistic", "value"), *plan_statistics(bundle.graph).as_rows()])
    return EXIT_OK


def _submit(args: argparse.Namespace) -> int:
    from mge_pipeline.cli_submit import already_done
    from mge_pipeline.orchestration import job_name_for

    plan = load_masterplan(args.plan)
    bundle_masterplan(plan)
    store = _store()
    done = None if args.again else already_done(store, plan)
    if done is not None:
        print(
            f"'{plan.id}' revision {plan.revision()} is already done: execution "
            f"{done.execution_id} completed at {done.completed_at}, output in {done.output_dir} "
            "(mge submit --again runs it again; validated atoms come from the cache)"
        )
        return EXIT_OK
    revision = store.save_masterplan(plan, status=MASTERPLAN_READY, source=str(args.plan.resolve()))
    print(f"submitted '{plan.id}' revision {revision} as ready; job {job_name_for(plan.id)}")
    print(
        "the daemon's ready_masterplan_sensor launches it within its interval (30 s) plus the "
        "daemon's refresh of the code location (up to 60 s); no reload needed"
    )
    return EXIT_OK


def _metrics_serve(args: argparse.Namespace) -> int:
    from mge_pipeline.observability.server import serve_metrics

    print(
        f"serving merged metrics of {settings.metrics_dir()} on "
        f"http://{args.host}:{args.port}/metrics",
        flush=True,
    )
    serve_metrics(args.host, args.port)
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    """Bad tokens are refused up front, one line each: a server nobody can use, or one with a
    guessable token, should not start."""
    import uvicorn

    from mge_pipeline.api import context_from_environment, create_app

    try:
        context = context_from_environment(allow_weak_sandbox=args.allow_weak_sandbox)
    except (ValueError, OSError) as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    base = f"http://{args.host}:{args.port}"
    print(f"MGE API on {base} (OpenAPI: {base}/docs, review page: {base}/review); "
          f"Dagster at {context.dagster.url}", flush=True)  # fmt: skip
    uvicorn.run(create_app(context), host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    if args.graphql:
        from mge_pipeline.observability.graphql import states_over_graphql

        states = states_over_graphql(args.graphql, args.masterplan_id)
    else:
        from mge_pipeline.orchestration.resources import fail_lost_runs

        store = _store()
        fail_lost_runs(_instance(), store)  # a dead run is shown failed, not running for ever
        states = store.executions(args.masterplan_id)
    if not states and args.masterplan_id and not _known_masterplan(args):
        where = f"Dagster at {args.graphql}" if args.graphql else "the store"
        print(f"error: no masterplan '{args.masterplan_id}' in {where}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not states:
        print("no executions" + (f" for '{args.masterplan_id}'" if args.masterplan_id else ""))
        return EXIT_OK
    print_states(states)
    return EXIT_OK


def _known_masterplan(args: argparse.Namespace) -> bool:
    """Submitted or run before; over GraphQL only runs are seen (the store may be elsewhere)."""
    if args.graphql:
        return False
    return any(p.masterplan_id == args.masterplan_id for p in _store().masterplans())


def _cancel(args: argparse.Namespace) -> int:
    """Marks the run CANCELING (and interrupts it where its launcher can); the run worker sees
    that within a second and stops starting calls (``execution/cancel.py``)."""
    instance = _instance()
    run = instance.get_run_by_id(args.run_id)
    if run is None:
        print(f"error: no run '{args.run_id}' in the Dagster instance", file=sys.stderr)
        return EXIT_BAD_INPUT
    if run.is_finished:
        print(f"error: run '{args.run_id}' already ended ({run.status.value})", file=sys.stderr)
        return EXIT_BAD_INPUT
    instance.run_launcher.terminate(args.run_id)  # marks CANCELING even when it cannot reach it
    print(f"run {args.run_id}: cancel requested; calls in flight finish, then the report")
    return EXIT_OK


def _pause(args: argparse.Namespace) -> int:
    from mge_pipeline.orchestration.resources import fail_lost_runs

    store, instance = _store(), _instance()
    fail_lost_runs(instance, store)
    info = store.execution_info(args.execution_id)
    if info is None:
        print(f"error: no execution '{args.execution_id}'", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not store.request_pause(args.execution_id, "requested with mge pause"):
        print(f"error: execution '{args.execution_id}' is {info.status.value}, not running",
              file=sys.stderr)  # fmt: skip
        return EXIT_BAD_INPUT
    for run in _unfinished_runs(instance, args.execution_id):
        instance.run_launcher.terminate(run.run_id)
    print(f"execution {args.execution_id}: pause requested; calls in flight finish, then "
          f"`mge resume {args.execution_id}` continues it")  # fmt: skip
    return EXIT_OK


def _unfinished_runs(instance: Any, execution_id: str) -> list[Any]:
    import dagster as dg

    tagged = instance.get_runs(filters=dg.RunsFilter(tags={c.TAG_EXECUTION_ID: execution_id}))
    return [run for run in tagged if not run.is_finished]


_RESUMABLE = ("paused", "cancelled", "failed")


def _resume(args: argparse.Namespace) -> int:
    from mge_pipeline.orchestration.resources import fail_lost_runs

    store = _store()
    fail_lost_runs(_instance(), store)
    info = store.execution_info(args.target)
    if info is None:
        candidates = [
            s for s in store.executions(args.target, limit=1) if s.status.value in _RESUMABLE
        ]
        info = store.execution_info(candidates[0].execution_id) if candidates else None
    if info is None:
        print(f"error: no paused, cancelled or failed execution '{args.target}' (nor one of a "
              f"masterplan of that id)", file=sys.stderr)  # fmt: skip
        return EXIT_BAD_INPUT
    plan = store.get_masterplan(info.masterplan_id)
    if plan is None or plan.revision() != info.revision:
        print(f"error: masterplan '{info.masterplan_id}' changed since execution "
              f"{info.execution_id} ran; run it anew with mge run", file=sys.stderr)  # fmt: skip
        return EXIT_BAD_INPUT
    folder = settings.mge_home() / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    args.plan = folder / f"{plan.id}-{info.revision}.json"
    args.plan.write_text(plan.model_dump_json(indent=2), encoding="utf-8")
    args.output, args.budget, args.resume = (
        Path(info.output_dir),
        info.budget_usd,
        info.execution_id,
    )
    print(f"resuming execution {info.execution_id} ({info.status.value}: {info.reason or ''}); "
          f"${info.spent_usd:.4f} of ${info.budget_usd:g} spent so far")  # fmt: skip
    return _run(args)


def _regenerate(args: argparse.Namespace) -> int:
    bundle = bundle_masterplan(load_masterplan(args.plan))
    unknown = [atom for atom in args.atoms if atom not in bundle.atoms]
    if unknown:
        for atom in unknown:
            print(f"error: masterplan '{bundle.plan.id}' has no atom '{atom}'", file=sys.stderr)
        return EXIT_BAD_INPUT
    chosen = {d for atom in args.atoms for d in (atom, *bundle.dependents(atom))}
    reason = "mge regenerate " + " ".join(args.atoms)
    _store().invalidate_cached((bundle.spec_hashes[a] for a in chosen), reason)
    dependents = sorted(chosen - set(args.atoms))
    print(f"invalidated {len(chosen)} atom(s): {', '.join(args.atoms)}"
          + (f" and their dependents {', '.join(dependents)}" if dependents else ""))  # fmt: skip
    return EXIT_OK if args.no_run else _run(args)


def print_states(states: Sequence[ExecutionState]) -> None:
    rows: list[tuple[str, ...]] = [
        (
            "execution",
            "masterplan",
            "status",
            "wave",
            "atoms done/total",
            "ok",
            "verified",
            "failed",
            "cost (USD)",
            "time (s)",
            "started",
        )
    ]
    rows += [
        (
            s.execution_id[:8],
            s.masterplan_id,
            s.status.value,
            f"{s.current_wave + 1}/{s.total_waves}",
            f"{s.atoms_completed}/{s.atoms_total}",
            str(s.atoms_succeeded),
            str(s.atoms_verified),
            str(s.atoms_failed),
            f"{s.total_cost_usd:.4f}",
            f"{s.total_time_seconds:.1f}",
            s.started_at.strftime("%Y-%m-%d %H:%M:%S") if s.started_at else "-",
        )
        for s in states
    ]
    _print_table(rows)


def _run(args: argparse.Namespace) -> int:
    plan_path = args.plan.resolve()
    bundle = bundle_masterplan(load_masterplan(plan_path))
    from mge_pipeline.orchestration.environment import ResourceOptions, make_llm_resource

    options = ResourceOptions(
        provider=args.provider,
        model=args.model,
        database_url=settings.database_url(),
        seed=args.seed,
        fault_rate=args.fault_rate,
        latency_seconds=args.latency,
        allow_weak_sandbox=args.allow_weak_sandbox,
    )
    from mge_pipeline.validation import probe_isolation

    try:
        isolation, weak_reason = probe_isolation(allow_weak=args.allow_weak_sandbox)
    except MgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    provider = make_llm_resource(options).get_provider()
    schedule, problems = _schedule(args.schedule or [], provider.name, provider.model)
    if args.batch and provider.name != "anthropic":
        problems.append(f"--batch needs the anthropic provider, not {provider.name}")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    output = (args.output or settings.output_root() / bundle.plan.id).resolve()
    writer = _busy_output(output, resuming=getattr(args, "resume", ""))
    if writer:
        print(f"error: output directory {output} is being written by execution {writer} "
              "(running): wait for it, cancel it (mge cancel), or choose another --output",
              file=sys.stderr)  # fmt: skip
        return EXIT_BAD_INPUT
    print(f"masterplan '{bundle.plan.id}': {len(bundle.atoms)} atoms in {len(bundle.waves)} waves")
    print(f"sandbox: {isolation}" + (f" (WEAK: {weak_reason})" if weak_reason else ""))
    print(
        f"provider: {provider.name} (model {provider.model}); budget ${args.budget:.2f}; "
        f"max concurrent {args.max_concurrent}; scheduling by {args.scheduling}"
    )
    print(f"attempts: {schedule.describe(provider.model, args.max_attempts)}")
    if args.batch:
        print(f"submission: Message Batches (half price), polled every {args.batch_poll:g} s")
    started = time.time()
    progress = _Progress(bundle, _store(), started)
    progress.start()
    try:
        success, run_id = _execute(plan_path, options, args, str(output))
    finally:
        progress.stop()
    code = _summarise(bundle, output, success, getattr(args, "resume", "") or run_id, started)
    if not success:
        _print_failures(run_id, verbose=bool(getattr(args, "verbose", False)))
    return code


def _print_failures(run_id: str, *, verbose: bool) -> None:
    from mge_pipeline.orchestration.run_failures import failed_step_lines

    with _instance() as instance:
        lines = failed_step_lines(instance, run_id, verbose=verbose)
    if lines:
        print("failed steps:" if not verbose else "failed steps (Dagster's traces):")
        print("\n".join(lines))
        if not verbose:
            print("rerun with --verbose for Dagster's traces")


def _busy_output(output: Path, *, resuming: str) -> str | None:
    from mge_pipeline.orchestration.resources import fail_lost_runs

    store = _store()
    fail_lost_runs(_instance(), store)
    writer = store.execution_writing(str(output))
    return writer if writer and writer != resuming else None


def _execute(
    plan_path: Path, options: Any, args: argparse.Namespace, output: str
) -> tuple[bool, str]:
    import dagster as dg

    from mge_pipeline.orchestration import default_run_config

    job = dg.build_reconstructable_job(
        "mge_pipeline.orchestration.compiler",
        "compile_masterplan_job_from_file",
        reconstructable_args=(str(plan_path),),
        reconstructable_kwargs={"options": options.as_kwargs()},
    )
    run_config = default_run_config(
        budget_usd=args.budget,
        max_attempts=args.max_attempts,
        output_dir=output,
        max_concurrent=args.max_concurrent,
        scheduling=args.scheduling,
        prompt_caching=not args.no_prompt_caching,
        requests_per_minute=args.rpm,
        tokens_per_minute=args.tpm,
        resume_execution=getattr(args, "resume", ""),
        use_cache=not args.fresh,
        cross_check=getattr(args, "cross_check", "weak"),
        schedule=[_step_config(text) for text in args.schedule or []],
        submission="batch" if args.batch else "realtime",
        batch_poll_seconds=args.batch_poll,
    )
    # Dagster's traces would bury the summary: only with --verbose, and after it (_failures).
    level = "WARNING" if getattr(args, "verbose", False) else "CRITICAL"
    run_config["loggers"] = {"console": {"config": {"log_level": level}}}
    with (
        _instance() as instance,
        dg.execute_job(
            job, instance=instance, run_config=run_config, raise_on_error=False
        ) as result,
    ):
        return result.success, result.run_id


def _schedule(texts: Sequence[str], provider: str, model: str) -> tuple[AttemptSchedule, list[str]]:
    """The schedule the run will use, and one line per step that cannot work."""
    steps: list[AttemptStep] = []
    problems: list[str] = []
    for number, text in enumerate(texts, start=1):
        try:
            steps.append(parse_step(text))
        except ValueError as exc:
            problems.append(f"--schedule step {number} '{text}': {exc}")
    schedule = (
        AttemptSchedule(tuple(steps)) if steps else default_schedule(model, c.DEFAULT_TEMPERATURES)
    )
    if not problems and provider != "simulated":
        problems = schedule_problems(schedule, model)
    return schedule, problems


def _step_config(text: str) -> dict[str, Any]:
    step = parse_step(text)
    return {"model": step.model or "", "effort": step.effort or "", "temperature": step.temperature}


def _instance() -> Any:
    """DAGSTER_HOME if set, else $MGE_HOME/dagster configured by the repository's dagster.yaml.

    Set up under a lock: two processes starting on a fresh home would otherwise both create
    Dagster's SQLite tables, and one would die on "table … already exists"."""
    from dagster import DagsterInstance

    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    with _setup_lock(home):
        config = home / "dagster.yaml"
        if not config.exists() and settings.instance_config_template().exists():
            shutil.copyfile(settings.instance_config_template(), config)
        instance = DagsterInstance.from_config(str(home))
        for storage in ("run_storage", "event_log_storage", "schedule_storage"):
            getattr(instance, storage)  # each creates its tables when first built
    return instance


@contextlib.contextmanager
def _setup_lock(folder: Path) -> Iterator[None]:
    with open(folder / ".mge-setup.lock", "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _summarise(bundle: PlanBundle, output: Path, success: bool, run_id: str, started: float) -> int:
    report_path = output / "report.json"
    if not report_path.exists():
        state = _store().execution_state(run_id)
        reason = state.reason if state else None
        print(f"run {run_id} failed before writing a report: {reason or 'see Dagit for the run'}")
        return EXIT_RUN_FAILED
    report = json.loads(report_path.read_text())
    _print_table(
        [
            ("summary", ""),
            ("status", report["status"] + (f" ({report['reason']})" if report["reason"] else "")),
            (
                "precision",
                f"{report['precision_percent']:.1f}% "
                f"({report['atoms_validated']}/{report['atoms_total']} atoms)",
            ),
            (
                "verified precision",
                f"{report.get('verified_precision_percent', 0.0):.1f}% "
                f"({report.get('atoms_verified', 0)}/{report['atoms_total']} atoms with "
                "behavioural evidence)",
            ),
            (
                "failed / blocked / skipped",
                f"{report['atoms_failed']} / {report['atoms_blocked']} / {report['atoms_skipped']}",
            ),
            ("attempts", str(report["attempts_total"])),
            ("retry rate", f"{report['retry_rate_percent']:.1f}%"),
            *(
                (
                    f"  {m['model']}" + (f" ({m['effort']})" if m["effort"] else ""),
                    f"{m['passed']}/{m['attempts']} attempts validated, ${m['cost_usd']:.4f}",
                )
                for m in report.get("models", [])
            ),
            (
                "cost",
                f"${report['total_cost_usd']:.4f} "
                f"(${report['cost_without_cache_usd']:.4f} without prompt caching)",
            ),
            ("wall time", f"{time.time() - started:.1f} s"),
            ("acceptance tests", report["acceptance"]),
            ("test command", report.get("test_command", "none defined")),
            ("output", str(output)),
            ("dagster run", run_id),
        ]
    )
    print(f"report: {output / 'report.md'}")
    print(
        f"to inspect it in Dagit: DAGSTER_HOME={settings.dagster_home()} dagster dev "
        "(from the repository root), then open http://127.0.0.1:3000"
    )
    return EXIT_OK if success else EXIT_RUN_FAILED


class _Progress:
    """Polls the store from a thread and draws one bar per wave; the run owns the main thread."""

    def __init__(self, bundle: PlanBundle, store: MgeStore, started: float) -> None:
        self.bundle, self.store, self.started = bundle, store, started
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._drawn: dict[int, str] = {}
        self._tty = sys.stdout.isatty()
        self._batches = ""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._draw(final=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self._draw(final=False)

    def _draw(self, *, final: bool) -> None:
        states = self.store.executions(self.bundle.plan.id, limit=1)
        state = states[0] if states else None
        if state is None or not state.started_at or state.started_at.timestamp() < self.started - 1:
            return
        statuses = self.store.atom_statuses(state.execution_id)
        for index, wave in enumerate(self.bundle.waves):
            counts = wave_counts(wave, statuses)
            if counts.seen == 0 or self._drawn.get(index) == "done":
                continue
            line = progress_line(index, counts, state.total_cost_usd)
            if counts.seen == len(wave):
                print(("\r" if self._tty else "") + line, flush=True)
                self._drawn[index] = "done"
            elif self._tty and not final:
                print("\r" + line, end="", flush=True)
        self._draw_batches()

    def _draw_batches(self) -> None:
        """One line whenever the set of pending Message Batches changes (batch mode)."""
        since = datetime.fromtimestamp(self.started - 1, tz=UTC)
        pending = self.store.pending_batches(since)
        line = ", ".join(f"{batch_id}: {count} requests" for batch_id, count in pending.items())
        if line != self._batches:
            self._batches = line
            print(("\n" if self._tty else "") + f"batches pending: {line or 'none'}", flush=True)


def _store() -> MgeStore:
    home = settings.mge_home()
    home.mkdir(parents=True, exist_ok=True)
    with _setup_lock(home):
        return MgeStore(settings.database_url())


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    sys.exit(main())
