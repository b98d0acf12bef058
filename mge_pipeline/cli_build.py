"""``mge plan`` and ``mge build``: from a request, in a person's words, to a masterplan and code.

Both launch a build job (``orchestration/build.py``) on the local Dagster instance: ``mge plan``
and ``mge build --plan-only`` stop once the masterplan is written, so a person can read and
edit it and then ``mge run`` it; ``mge build`` goes on to generate it in the same run.
Planning needs a model that writes plans: the Anthropic provider (or the scripted Messages API
server behind ``ANTHROPIC_BASE_URL``); the simulated model declines before anything runs.
Exit codes as for ``mge run``: 0 success, 1 the build failed (its reason printed), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mge_pipeline import settings
from mge_pipeline.design.client import PlanningUnavailableError, check_can_plan
from mge_pipeline.exceptions import MgeError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
_LANGUAGES = ("python", "typescript", "javascript")
_EFFORTS = ("low", "medium", "high", "xhigh", "max")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from mge_pipeline.cli import _add_run_options

    plan = commands.add_parser(
        "plan", help="a request → discovery → masterplan → atoms, written as a plan file"
    )
    plan.add_argument("request", help="what to build, in your words")
    plan.add_argument("-o", "--output-plan", type=Path, required=True, help="plan file (YAML)")
    _add_planning_options(plan)
    _add_run_options(plan)
    plan.set_defaults(handler=_plan, plan_only=True)

    build = commands.add_parser(
        "build", help="a request → masterplan → validated code, in one Dagster run"
    )
    build.add_argument("request", help="what to build, in your words")
    build.add_argument(
        "-o",
        "--output-plan",
        type=Path,
        default=None,
        help="where the plan is written (default: $MGE_HOME/plans/request-<time>.yaml)",
    )
    build.add_argument(
        "--plan-only", action="store_true", help="stop once the plan is written (then mge run it)"
    )
    _add_planning_options(build)
    _add_run_options(build)
    build.set_defaults(handler=_build)


def _add_planning_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--language", choices=_LANGUAGES, default=None, help="default: the model's")
    parser.add_argument(
        "--max-answers", type=int, default=4, help="answers per planning stage (repairs included)"
    )
    parser.add_argument("--planning-effort", choices=_EFFORTS, default=None)
    parser.add_argument(
        "--planning-max-tokens", type=int, default=8192, help="output cap of a planning call"
    )


def _plan(args: argparse.Namespace) -> int:
    return _build(args)


def _build(args: argparse.Namespace) -> int:
    problems = _input_problems(args)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from mge_pipeline.orchestration.environment import ResourceOptions, make_llm_resource

    options = ResourceOptions(
        provider=args.provider,
        model=args.model,
        database_url=settings.database_url(),
        allow_weak_sandbox=args.allow_weak_sandbox,
    )
    provider = make_llm_resource(options).get_provider()
    try:
        check_can_plan(provider)
    except PlanningUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    generating = not args.plan_only
    if generating:
        refused = _generation_problems(args, provider.name, provider.model)
        if refused:
            for problem in refused:
                print(f"error: {problem}", file=sys.stderr)
            return EXIT_BAD_INPUT
    plan_path = (args.output_plan or _default_plan_path()).resolve()
    print(f"request: {args.request.strip()}")
    print(f"provider: {provider.name} (model {provider.model}); budget ${args.budget:.2f}")
    started = time.time()
    success, result = _execute(args, options, plan_path, generating)
    return _report(args, result, success, plan_path, generating, started)


def _input_problems(args: argparse.Namespace) -> list[str]:
    problems = []
    if not args.request.strip():
        problems.append("the request is empty: say what to build")
    if args.budget <= 0:
        problems.append(f"--budget must be above 0, not {args.budget:g}")
    if args.max_answers < 1:
        problems.append(f"--max-answers must be at least 1, not {args.max_answers}")
    target = args.output_plan
    if target is not None and target.is_dir():
        problems.append(f"plan file {target}: is a directory")
    elif target is not None and target.suffix not in (".yaml", ".yml"):
        problems.append(f"plan file {target}: must end in .yaml or .yml")
    return problems


def _generation_problems(args: argparse.Namespace, provider: str, model: str) -> list[str]:
    from mge_pipeline.cli import _schedule
    from mge_pipeline.validation import probe_isolation

    try:
        probe_isolation(allow_weak=args.allow_weak_sandbox)
    except MgeError as exc:
        return [str(exc)]
    problems = _schedule(args.schedule or [], provider, model)[1]
    if args.batch:
        problems.append("--batch is not offered by mge build; mge run the plan with --batch")
    return problems


def _default_plan_path() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return settings.mge_home() / "plans" / f"request-{stamp}.yaml"


def _execute(
    args: argparse.Namespace, options: Any, plan_path: Path, generating: bool
) -> tuple[bool, Any]:
    import dagster as dg

    from mge_pipeline.cli import _instance, _step_config
    from mge_pipeline.orchestration.build_config import build_run_config

    job = dg.build_reconstructable_job(
        "mge_pipeline.orchestration.build",
        "make_build_job_from_options",
        reconstructable_kwargs={"generate": generating, "options": options.as_kwargs()},
    )
    build = {
        "request": args.request,
        "plan_path": str(plan_path),
        "language": args.language or "",
        "budget_usd": args.budget,
        "max_answers": args.max_answers,
        "max_tokens": args.planning_max_tokens,
        "effort": args.planning_effort or "",
        "max_concurrent": args.max_concurrent,
    }
    generation = {
        "budget_usd": args.budget,
        "max_attempts": args.max_attempts,
        "output_dir": str(args.output.resolve()) if args.output else "",
        "max_concurrent": args.max_concurrent,
        "scheduling": args.scheduling,
        "prompt_caching": not args.no_prompt_caching,
        "use_cache": not args.fresh,
        "schedule": [_step_config(text) for text in args.schedule or []],
        "requests_per_minute": args.rpm,
        "tokens_per_minute": args.tpm,
    }
    run_config = build_run_config(build, generation if generating else None)
    # A failed step is reported below in one line; Dagit keeps the whole log and stack.
    run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    with (
        _instance() as instance,
        dg.execute_job(
            job, instance=instance, run_config=run_config, raise_on_error=False
        ) as result,
    ):
        built = (
            result.output_for_node("assemble_plan") if _succeeded(result, "assemble_plan") else None
        )
        return result.success, (result.run_id, built, _failure_lines(result))


def _succeeded(result: Any, node: str) -> bool:
    return any(e.is_step_success and e.step_key == node for e in result.all_events)


def _failure_lines(result: Any) -> list[str]:
    """One line per failed step: its ``dg.Failure`` description, else the error's message."""
    lines = []
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        user = data.user_failure_data
        text = user.description if user and user.description else data.error.message
        lines.append(f"{event.step_key}: {text.strip().splitlines()[0]}")
    return lines


def _report(
    args: argparse.Namespace,
    outcome: tuple[str, Any, list[str]],
    success: bool,
    plan_path: Path,
    generating: bool,
    started: float,
) -> int:
    run_id, built, failures = outcome
    if built is None:
        for line in failures or [f"the build run {run_id} failed: see Dagit"]:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_FAILED
    from mge_pipeline.cli import _print_table, _summarise
    from mge_pipeline.execution.plan_bundle import bundle_masterplan

    bundle = bundle_masterplan(built.plan)
    tasks = sum(len(m.tasks) for p in built.plan.phases for m in p.milestones)
    _print_table(
        [
            ("plan", ""),
            ("masterplan", f"{built.plan.id}: {built.plan.name}"),
            ("tasks / atoms / waves", f"{tasks} / {len(bundle.atoms)} / {len(bundle.waves)}"),
            ("planning cost", f"${built.planning_cost_usd:.4f}"),
            ("plan file", str(plan_path)),
            ("discovery", str(plan_path.with_name(plan_path.stem + ".discovery.json"))),
            ("dagster run", run_id),
        ]
    )
    if not generating:
        print(f"read and edit it, then generate it with: mge run {plan_path}")
        return EXIT_OK
    output = (args.output or settings.output_root() / built.plan.id).resolve()
    if failures and not (output / "report.json").exists():
        for line in failures:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_FAILED
    return _summarise(bundle, output, success, run_id, started)
