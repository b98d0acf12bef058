"""Orchestration benchmark: a synthetic masterplan through the compiled Dagster job.

    python benchmarks/orchestration.py                          # 800 atoms, 10 waves, 2 s latency
    python benchmarks/orchestration.py --latency 0              # throughput, atoms per second
    python benchmarks/orchestration.py --atoms 40 --waves 4     # smoke test
    python benchmarks/orchestration.py --compare io_manager=fs,memory --repeat 2

The job is built exactly as ``mge run`` builds it (``build_reconstructable_job`` over
``compile_masterplan_job_from_file``) and executed with ``dg.execute_job`` on a real Dagster
instance in a temporary directory, so every event is persisted in SQLite. The simulated model
answers each atom with its reference implementation after ``--latency`` seconds; with
``--fault-rate 0`` (the default here) every atom takes exactly one attempt, so the run cannot
be faster than ``waves × latency``: that is the critical-path lower bound.

``--validation stub`` replaces the sandbox subprocess (``PythonSandbox.run_tests``) with a
passing verdict, in this process only, to isolate the orchestration overhead; the static
checks (parse, required definition) and the assembly of each atom's files still run. It
changes nothing in ``mge_pipeline``.

``--instance`` writes the temporary instance's ``dagster.yaml`` from named fragments (e.g.
``pooled+infologs``: the pooled event log storage of ``fast_event_log.py`` and no DEBUG log
messages). ``--atoms-per-step N`` and ``--scheduler pipelined`` run the prototypes in
``chunked.py`` and ``pipelined.py`` instead of the compiled job, to measure those designs.

``--compare KEY=V1,V2`` runs each configuration in its own subprocess (so peak memory is per
configuration), interleaved ``--repeat`` times, and prints medians with ratios to the first.
Figures and their analysis: ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# -- the synthetic masterplan -------------------------------------------------------------------

PACKAGE = "benchpkg"


def _function_name(wave: int, index: int) -> str:
    return f"f_{wave}_{index}"


def build_masterplan(
    atoms: int, waves: int, *, files: int = 5, tests: str = "trivial", plan_id: str = "bench"
) -> dict[str, Any]:
    """``atoms`` atoms in ``waves`` waves (the remainder spread over the first waves).

    Atom ``i`` of wave ``k > 0`` depends on atom ``i`` of wave ``k-1`` and, for odd ``i``, also
    on atom ``i+1``: one or two dependencies, about 1.5 on average. Waves are grouped into
    ``files`` modules in wave order, so imports only point to earlier modules (no cycles).
    Every function returns an int computed from its dependencies; its test checks the value.
    """
    if waves < 1 or atoms < waves:
        raise SystemExit("need at least one atom per wave")
    files = max(1, min(files, waves))
    widths = [atoms // waves + (1 if k < atoms % waves else 0) for k in range(waves)]
    values: dict[tuple[int, int], int] = {}
    tasks: list[dict[str, Any]] = []
    for k, width in enumerate(widths):
        module_index = k * files // waves
        module = f"{PACKAGE}/mod_{module_index}.py"
        specs: list[dict[str, Any]] = []
        for i in range(width):
            name = _function_name(k, i)
            deps: list[tuple[int, int]] = []
            if k > 0:
                previous = widths[k - 1]
                deps = [(k - 1, i % previous)]
                if i % 2 == 1 and previous > 1 and (i + 1) % previous != i % previous:
                    deps.append((k - 1, (i + 1) % previous))
            imports = [
                f"from {PACKAGE}.mod_{dk * files // waves} import {_function_name(dk, di)}"
                for dk, di in deps
                if dk * files // waves != module_index
            ]
            if deps:
                body = " + ".join(f"{_function_name(dk, di)}(x)" for dk, di in deps) + " + 1"
                value = sum(values[d] for d in deps) + 1
            else:
                body = f"x + {i}"
                value = 1 + i
            values[(k, i)] = value
            specs.append({
                "id": f"a_{k}_{i}",
                "name": name,
                "description": f"Return {body} for the integer x.",
                "file_path": module,
                "kind": "function",
                "signature": f"def {name}(x: int) -> int:",
                "depends_on": [f"a_{dk}_{di}" for dk, di in deps],
                "tests": f"assert {name}(1) == {value}\n" if tests == "trivial" else "",
                "estimated_loc": 2,
                "context": {"imports": imports},
                "reference_implementation": f"def {name}(x: int) -> int:\n    return {body}\n",
            })  # fmt: skip
        tasks.append({"id": f"wave_{k}", "name": f"Wave {k}", "atoms": specs})
    return {
        "id": plan_id,
        "name": f"Orchestration benchmark ({atoms} atoms, {waves} waves)",
        "description": "Synthetic plan generated by benchmarks/orchestration.py.",
        "phases": [{
            "id": "bench", "name": "Benchmark",
            "milestones": [{"id": "all", "name": "All waves", "tasks": tasks}],
        }],
    }  # fmt: skip


# -- instance configurations (dagster.yaml written into the temporary instance directory) -------

_EVENT_LOG = "event_log_storage:\n  module: {module}\n  class: {cls}\n"
_BASE_DIR = "  config:\n    base_dir: {root}/history/runs/\n"

# Fragments of dagster.yaml; ``--instance`` joins names with "+", e.g. ``pooled+infologs``.
# At most one of them may choose the event log storage.
INSTANCE_FRAGMENTS: dict[str, str] = {
    # The default local instance: per-run SQLite event log shards plus an index shard.
    "default": "",
    # One SQLite file for every run's events instead of one file per run.
    "consolidated": _EVENT_LOG.format(
        module="dagster._core.storage.event_log", cls="ConsolidatedSqliteEventLogStorage"
    )
    + "  config:\n    base_dir: {root}/history/\n",
    # benchmarks/fast_event_log.py: same files and schema, one pooled engine per shard and
    # synchronous=NORMAL instead of a new engine, connection and fsync per event.
    "pooled": _EVENT_LOG.format(module="fast_event_log", cls="PooledSqliteEventLogStorage")
    + _BASE_DIR,
    # As pooled, plus a writer thread committing step events in batches off the event loop.
    "buffered": _EVENT_LOG.format(module="fast_event_log", cls="BufferedSqliteEventLogStorage")
    + _BASE_DIR,
    # Events kept in an in-memory SQLite database: NOT persisted, a reference point only.
    "memory": _EVENT_LOG.format(
        module="dagster._core.storage.event_log", cls="InMemoryEventLogStorage"
    ),
    # No compute-log capture (the async executor captures once per run, so expect little).
    "nocomputelogs": (
        "compute_logs:\n"
        "  module: dagster._core.storage.noop_compute_log_manager\n"
        "  class: NoOpComputeLogManager\n"
    ),
    # Plain log messages below INFO are not stored (Dagster events always are): this drops the
    # fs IO manager's two DEBUG lines per atom step ("Writing file at", "Loading file from").
    "infologs": "python_logs:\n  python_log_level: INFO\n",
}
_STORAGES = {"consolidated", "pooled", "buffered", "memory"}


def instance_yaml(spec: str, root: Path) -> str:
    names = [name.strip() for name in spec.split("+") if name.strip()]
    unknown = [name for name in names if name not in INSTANCE_FRAGMENTS]
    if unknown or len(_STORAGES.intersection(names)) > 1:
        raise SystemExit(
            f"--instance {spec!r}: join with '+' names from {', '.join(INSTANCE_FRAGMENTS)}, "
            "with at most one event log storage"
        )
    body = "telemetry:\n  enabled: false\n" + "".join(INSTANCE_FRAGMENTS[n] for n in names)
    return body.replace("{root}", str(root))


# -- instrumentation -----------------------------------------------------------------------------


class Probe:
    """Counts and times the calls we care about; cheap enough to stay on in every run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.threads: dict[str, Counter[str]] = defaultdict(Counter)

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            self.seconds[name] += seconds
            self.calls[name] += 1
            self.threads[name][threading.current_thread().name] += 1

    def wrap_sync(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)
        probe = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                probe.add(name, time.perf_counter() - started)

        setattr(owner, attribute, timed)

    def wrap_async(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)
        probe = self

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                probe.add(name, time.perf_counter() - started)

        setattr(owner, attribute, timed)

    def summary(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "calls": self.calls[name],
                "total_s": round(self.seconds[name], 3),
                "mean_ms": round(1000 * self.seconds[name] / max(1, self.calls[name]), 3),
                "threads": dict(self.threads[name].most_common(3)),
            }
            for name in sorted(self.calls)
        }


def install_probes(probe: Probe, validation: str) -> None:
    from dagster._core.instance import DagsterInstance

    from mge_pipeline.store import MgeStore
    from mge_pipeline.validation.sandbox import PythonSandbox, SandboxOutcome

    if validation == "stub":

        async def passing(self: Any, *args: Any, **kwargs: Any) -> SandboxOutcome:
            return SandboxOutcome(
                result={"ok": True, "tests_run": 0}, timed_out=False, returncode=0,
                stderr_tail="", duration_seconds=0.0,
            )  # fmt: skip

        PythonSandbox.run_tests = passing  # type: ignore[method-assign]
    else:
        probe.wrap_async(PythonSandbox, "run_tests", "sandbox: run_tests (wait + check)")
        if hasattr(PythonSandbox, "_run"):  # the versions with one interpreter per check
            probe.wrap_async(PythonSandbox, "_run", "sandbox: _run (the process)")
    # Every Dagster event goes through this one method on its way to the event log storage.
    probe.wrap_sync(DagsterInstance, "handle_new_event", "dagster: instance.handle_new_event")
    for method in ("reserve", "settle", "record_attempt", "record_atom_result", "validated_codes"):
        probe.wrap_sync(MgeStore, method, f"store: {method}")


# -- one run -------------------------------------------------------------------------------------


def source_info() -> dict[str, Any]:
    """Which mge_pipeline is measured: the editable checkout, or a snapshot on PYTHONPATH.

    A snapshot (``git archive HEAD mge_pipeline | tar -x -C DIR`` plus the commit in
    ``DIR/.commit``) keeps a series of runs on one commit while others keep committing.
    """
    import mge_pipeline

    root = Path(mge_pipeline.__file__).resolve().parent.parent
    marker = root / ".commit"
    if marker.exists():
        return {"path": str(root), "commit": marker.read_text().strip()[:12], "dirty": False}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()[:12]
        dirty = (
            subprocess.run(
                ["git", "diff", "--quiet", "HEAD", "--", "mge_pipeline"],
                cwd=root,
                capture_output=True,
            ).returncode
            != 0
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", False
    return {"path": str(root), "commit": commit, "dirty": dirty}


def _maxrss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _live_children_cpu() -> float:
    """CPU of descendants still running (e.g. a warm sandbox pool behind ``unshare``).

    getrusage(RUSAGE_CHILDREN) only counts children that have exited and been waited for; a
    live process's cutime/cstime covers its own reaped children, so nothing is counted twice.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parent[pid] = int(fields[1])  # then utime stime cutime cstime at 11..14
        cpu[pid] = sum(int(f) for f in fields[11:15])
    me, total = os.getpid(), 0
    for pid in cpu:
        ancestor = parent.get(pid)
        while ancestor and ancestor != me:
            ancestor = parent.get(ancestor)
        if ancestor == me:
            total += cpu[pid]
    return total / ticks


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    import dagster as dg
    from dagster._core.definitions.reconstruct import build_reconstructable_job
    from dagster._core.instance.ref import InstanceRef

    from mge_pipeline.orchestration import default_run_config
    from mge_pipeline.orchestration.environment import ResourceOptions
    from mge_pipeline.store import MgeStore

    probe = Probe()
    install_probes(probe, args.validation)
    root = Path(tempfile.mkdtemp(prefix="mge-bench-"))
    instance_dir, output_dir = root / "dagster", root / "output"
    instance_dir.mkdir()
    (instance_dir / "dagster.yaml").write_text(instance_yaml(args.instance, instance_dir))
    plan_id = f"bench_{args.atoms}x{args.waves}"
    plan_path = root / "masterplan.json"
    plan = build_masterplan(
        args.atoms, args.waves, files=args.files, tests=args.tests, plan_id=plan_id
    )
    plan_path.write_text(json.dumps(plan))
    database_url = f"sqlite:///{root / 'mge.db'}"
    options = ResourceOptions(
        provider="simulated", database_url=database_url, fault_rate=args.fault_rate,
        latency_seconds=args.latency, sandbox_processes=args.sandbox_processes,
        io_manager=args.io_manager,
    )  # fmt: skip
    kwargs: dict[str, Any] = {"options": options.as_kwargs()}
    if args.scheduler == "pipelined":  # the prototype in benchmarks/pipelined.py
        import pipelined  # noqa: F401  (Dagster's loader drops the script's directory from sys.path)

        module, function = "pipelined", "compile_pipelined_job_from_file"
        kwargs["atoms_in_flight"] = args.max_concurrent
    elif args.atoms_per_step > 1:  # the prototype in benchmarks/chunked.py
        import chunked  # noqa: F401

        module, function = "chunked", "compile_chunked_job_from_file"
        kwargs["atoms_per_step"] = args.atoms_per_step
    else:  # exactly what `mge run` executes
        module, function = "mge_pipeline.orchestration.compiler", "compile_masterplan_job_from_file"
    job = build_reconstructable_job(
        module, function, reconstructable_args=(str(plan_path),), reconstructable_kwargs=kwargs
    )
    run_config = default_run_config(
        max_concurrent=args.max_concurrent, output_dir=str(output_dir), budget_usd=1e9
    )
    run_config["loggers"] = {"console": {"config": {"log_level": "WARNING"}}}

    started_compile = time.perf_counter()
    job.get_definition()  # compile once up front, so its cost is reported apart from the run
    compile_seconds = time.perf_counter() - started_compile

    cpu_before = _cpu_seconds(resource.RUSAGE_SELF), _cpu_seconds(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(instance_dir)))
    with instance:
        started = time.perf_counter()
        with dg.execute_job(
            job, instance=instance, run_config=run_config, raise_on_error=False
        ) as result:
            wall = time.perf_counter() - started
            success, run_id = result.success, result.run_id
        load_after = os.getloadavg()[0]
        cpu_self = _cpu_seconds(resource.RUSAGE_SELF) - cpu_before[0]
        cpu_children = _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before[1]
        cpu_children += _live_children_cpu()
        events = instance.all_logs(run_id)
    metrics = _event_metrics(events)

    report_path = output_dir / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    store = MgeStore(database_url)
    state = store.execution_state(run_id)
    store.dispose()

    bound = args.waves * args.latency
    return {
        "config": _config_of(args),
        "source": source_info(),
        "success": success,
        "report_status": report.get("status"),
        "atoms_total": report.get("atoms_total", args.atoms),
        "atoms_validated": report.get("atoms_validated", 0),
        "attempts_total": report.get("attempts_total"),
        "store_atoms_succeeded": state.atoms_succeeded if state else None,
        "compile_s": compile_seconds,
        "wall_s": wall,
        "bound_s": bound,
        "efficiency": bound / wall if wall else 0.0,
        "overhead_ms_per_atom": (wall - bound) / args.atoms * 1000,
        "atoms_per_s": args.atoms / wall,
        "cpu_self_s": cpu_self,
        "cpu_children_s": cpu_children,
        "cpu_ms_per_atom": (cpu_self + cpu_children) / args.atoms * 1000,
        "loadavg_1min": [round(load_before, 2), round(load_after, 2)],
        "maxrss_self_mib": _maxrss_mib(resource.RUSAGE_SELF),
        "maxrss_children_mib": _maxrss_mib(resource.RUSAGE_CHILDREN),
        "probes": probe.summary(),
        **metrics,
        "events_per_atom": metrics["events_total"] / args.atoms,
        "tmp_dir": str(root),
    }


def _event_metrics(events: Sequence[Any]) -> dict[str, Any]:
    """Events per step kind, and the timeline of the run from the event log's timestamps."""
    by_step: dict[str, list[Any]] = defaultdict(list)
    run_level: list[Any] = []
    for entry in events:
        step = entry.step_key
        (by_step[step] if step else run_level).append(entry)
    generate_steps = {k: v for k, v in by_step.items() if "_generate_atom[" in k}
    per_generate = [len(v) for v in generate_steps.values()]
    sample_types: Counter[str] = Counter()
    for entry in next(iter(generate_steps.values()), []):
        sample_types[_event_type(entry)] += 1
    timeline: dict[str, float] = {}
    first = min((e.timestamp for e in events), default=0.0)
    for step, entries in by_step.items():
        if "_generate_atom[" in step:
            continue
        timeline[step] = round(max(e.timestamp for e in entries) - first, 3)
    waves: list[dict[str, float]] = []
    k = 0
    while f"wave_{k}" in by_step:
        fan_out = min(e.timestamp for e in by_step[f"wave_{k}"])
        close = max(e.timestamp for e in by_step.get(f"wave_{k}_close", by_step[f"wave_{k}"]))
        atom_ends = [
            max(e.timestamp for e in entries)
            for step, entries in generate_steps.items()
            if step.startswith(f"wave_{k}_generate_atom[")
        ]
        waves.append({
            "wave": k, "seconds": round(close - fan_out, 3),
            "last_atom_done": round(max(atom_ends) - fan_out, 3) if atom_ends else 0.0,
        })  # fmt: skip
        k += 1
    totals = Counter(_event_type(e) for e in events)
    failures = [
        f"{e.step_key or 'run'}: {_error_text(e)}"
        for e in events
        if _event_type(e) in ("STEP_FAILURE", "PIPELINE_FAILURE", "RUN_FAILURE")
    ]
    return {
        "failures": failures[:5],
        "events_total": len(events),
        "events_run_level": len(run_level),
        "events_per_generate_step": statistics.mean(per_generate) if per_generate else 0,
        "generate_step_event_types": dict(sample_types),
        "event_types": dict(totals.most_common()),
        "waves": waves,
        "timeline": timeline,
    }


def _error_text(entry: Any) -> str:
    data = entry.dagster_event.event_specific_data if entry.dagster_event else None
    error = getattr(data, "error", None)
    if error is not None:
        while error.cause is not None:  # the user's exception, not Dagster's wrapper
            error = error.cause
        return f"{error.cls_name}: {(error.message or '').strip()}"[:500]
    return (entry.user_message or "")[:500]


def _event_type(entry: Any) -> str:
    if entry.dagster_event is not None:
        return str(entry.dagster_event.event_type_value)
    return f"log:{entry.level}"


# -- command line --------------------------------------------------------------------------------

COMPARABLE = {
    "atoms": int, "waves": int, "latency": float, "max_concurrent": int, "io_manager": str,
    "validation": str, "instance": str, "sandbox_processes": int, "tests": str, "files": int,
    "fault_rate": float, "atoms_per_step": int, "scheduler": str,
}  # fmt: skip


def _config_of(args: argparse.Namespace) -> dict[str, Any]:
    return {key: getattr(args, key) for key in COMPARABLE}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=800)
    parser.add_argument("--waves", type=int, default=10)
    parser.add_argument("--latency", type=float, default=2.0, help="simulated seconds per LLM call")
    parser.add_argument("--max-concurrent", type=int, default=100)
    parser.add_argument("--io-manager", choices=("fs", "memory"), default="fs")
    parser.add_argument(
        "--validation", choices=("sandbox", "stub"), default="sandbox",
        help="sandbox: the real subprocess per atom; stub: a passing verdict, no process",
    )  # fmt: skip
    parser.add_argument(
        "--tests", choices=("trivial", "empty"), default="trivial",
        help="each atom's tests: one assert, or an empty string",
    )  # fmt: skip
    parser.add_argument("--sandbox-processes", type=int, default=4)
    parser.add_argument(
        "--instance", default="default",
        help=f"dagster.yaml of the temporary instance: names joined by '+' from {', '.join(INSTANCE_FRAGMENTS)}",
    )  # fmt: skip
    parser.add_argument("--files", type=int, default=5, help="modules the atoms are spread over")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument(
        "--scheduler", choices=("waves", "pipelined"), default="waves",
        help="waves: a Dagster fan-out per wave; pipelined: the prototype in "
        "benchmarks/pipelined.py, one op, each atom starts when its own dependencies are settled",
    )  # fmt: skip
    parser.add_argument(
        "--atoms-per-step", type=int, default=1,
        help="1: the job mge_pipeline compiles; N>1: the prototype in benchmarks/chunked.py, "
        "N atoms per Dagster step",
    )  # fmt: skip
    parser.add_argument(
        "--compare", action="append", default=[], metavar="KEY=V1,V2",
        help=f"run each value side by side (repeatable: cartesian product); keys: {', '.join(COMPARABLE)}",
    )  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per configuration (interleaved)"
    )
    parser.add_argument("--json-out", type=Path, default=None, help="write the metrics as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--verbose", action="store_true", help="print probes, event types, waves")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.compare:
        return _compare(args, argv if argv is not None else sys.argv[1:])
    metrics = run_once(args)
    if args.json_out:
        args.json_out.write_text(json.dumps(metrics, indent=2, default=str))
    _print_run(metrics, verbose=args.verbose)
    if not args.keep:
        import shutil

        shutil.rmtree(metrics["tmp_dir"], ignore_errors=True)
    return 0 if _succeeded(metrics) else 1


def _succeeded(m: dict[str, Any]) -> bool:
    return bool(
        m["success"] and m["report_status"] == "completed"
        and m["atoms_validated"] == m["atoms_total"] == m["config"]["atoms"]
    )  # fmt: skip


def _print_run(m: dict[str, Any], *, verbose: bool) -> None:
    c = m["config"]
    print(
        f"{c['atoms']} atoms / {c['waves']} waves / latency {c['latency']} s / max_concurrent "
        f"{c['max_concurrent']} / io {c['io_manager']} / validation {c['validation']} "
        f"(tests {c['tests']}, {c['sandbox_processes']} sandbox processes) / instance {c['instance']}"
        + (
            f" / {c['atoms_per_step']} atoms per step (prototype)"
            if c["atoms_per_step"] > 1
            else ""
        )
        + (" / pipelined scheduler (prototype)" if c.get("scheduler") == "pipelined" else "")
    )
    src = m["source"]
    print(
        f"  mge_pipeline: {src['path']} at {src['commit']}"
        + (" (uncommitted changes)" if src["dirty"] else "")
    )
    verdict = "OK" if _succeeded(m) else "FAILED"
    print(
        f"  run: {verdict} (dagster success={m['success']}, report {m['report_status']}, "
        f"{m['atoms_validated']}/{m['atoms_total']} atoms validated, {m['attempts_total']} attempts, "
        f"store says {m['store_atoms_succeeded']} succeeded)"
    )
    for failure in m.get("failures", []):
        print(f"  failure: {failure}")
    print(f"  compile (plan → job)        {m['compile_s']:8.2f} s")
    print(f"  wall time (execute_job)     {m['wall_s']:8.2f} s")
    print(f"  critical-path lower bound   {m['bound_s']:8.2f} s  (waves × latency)")
    if m["bound_s"] > 0:
        print(f"  efficiency                  {m['efficiency']:8.3f}    (bound / wall)")
    print(
        f"  overhead per atom           {m['overhead_ms_per_atom']:8.1f} ms ((wall − bound) / atoms)"
    )
    print(f"  throughput                  {m['atoms_per_s']:8.1f} atoms/s (atoms / wall)")
    print(f"  CPU self / sandbox children {m['cpu_self_s']:8.1f} s / {m['cpu_children_s']:.1f} s")
    if "cpu_ms_per_atom" in m:
        print(
            f"  CPU per atom                {m['cpu_ms_per_atom']:8.1f} ms (all processes); "
            f"load average before/after {m['loadavg_1min'][0]:.1f}/{m['loadavg_1min'][1]:.1f} "
            f"on {os.cpu_count()} CPUs"
        )
    print(
        f"  peak RSS self / children    {m['maxrss_self_mib']:8.0f} MiB / "
        f"{m['maxrss_children_mib']:.0f} MiB"
    )
    print(
        f"  dagster events              {m['events_total']:8d}     "
        f"({m['events_per_atom']:.1f} per atom, {m['events_per_generate_step']:.1f} per generate step)"
    )
    if verbose:
        print("  events of one generate step:", json.dumps(m["generate_step_event_types"]))
        print("  event types of the run:", json.dumps(m["event_types"]))
        print("  waves (s from fan-out start to close / to last atom done):")
        for w in m["waves"]:
            print(f"    wave {w['wave']:>2}: {w['seconds']:7.2f} / {w['last_atom_done']:7.2f}")
        print("  timeline (s since the first event, last event of each step):")
        for step, at in sorted(m["timeline"].items(), key=lambda kv: kv[1]):
            print(f"    {at:8.2f}  {step}")
        print("  probes (calls, total s, mean ms, threads):")
        for name, p in m["probes"].items():
            print(
                f"    {name:<40} {p['calls']:7d} {p['total_s']:9.2f} {p['mean_ms']:9.2f}  {p['threads']}"
            )


def _compare(args: argparse.Namespace, argv: list[str]) -> int:
    axes: list[tuple[str, list[str]]] = []
    for spec in args.compare:
        key, _, values = spec.partition("=")
        key = key.strip().replace("-", "_")
        if key not in COMPARABLE or not values:
            raise SystemExit(
                f"--compare {spec!r}: expected KEY=V1,V2 with KEY in {', '.join(COMPARABLE)}"
            )
        axes.append((key, [v.strip() for v in values.split(",")]))
    base = _strip_compare(argv)
    configs = [dict(zip([k for k, _ in axes], values, strict=True))
               for values in itertools.product(*[v for _, v in axes])]  # fmt: skip
    results: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="mge-bench-compare-") as scratch:
        for repetition in range(args.repeat):
            for number, overrides in enumerate(configs):
                out = Path(scratch) / f"{number}-{repetition}.json"
                extra = [
                    x
                    for key, value in overrides.items()
                    for x in (f"--{key.replace('_', '-')}", value)
                ]
                command = [sys.executable, __file__, *base, *extra, "--json-out", str(out)]
                label = ", ".join(f"{k}={v}" for k, v in overrides.items())
                print(f"[{repetition + 1}/{args.repeat}] {label} …", flush=True)
                completed = subprocess.run(command, capture_output=True, text=True)
                if not out.exists():
                    print(completed.stdout[-3000:], completed.stderr[-3000:], sep="\n")
                    raise SystemExit(f"configuration {label} crashed (exit {completed.returncode})")
                metrics = json.loads(out.read_text())
                results[number].append(metrics)
                print("   " + completed.stdout.strip().replace("\n", "\n   "), flush=True)
    _print_comparison(configs, results)
    return 0 if all(_succeeded(m) for runs in results.values() for m in runs) else 1


def _strip_compare(argv: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
            continue
        if item in ("--compare", "--repeat", "--json-out"):
            skip = True
            continue
        if item.startswith(("--compare=", "--repeat=", "--json-out=")):
            continue
        kept.append(item)
    return kept


def _print_comparison(
    configs: list[dict[str, str]], results: dict[int, list[dict[str, Any]]]
) -> None:
    header = (
        "configuration", "ok", "wall s (median; all)", "× first", "efficiency",
        "overhead ms/atom", "atoms/s", "events/atom", "CPU ms/atom", "RSS MiB", "load",
    )  # fmt: skip
    rows = [header]
    first_wall = statistics.median(m["wall_s"] for m in results[0])
    for number, overrides in enumerate(configs):
        runs = results[number]
        atoms = runs[0]["config"]["atoms"]
        wall = statistics.median(m["wall_s"] for m in runs)
        cpu = statistics.median(m["cpu_self_s"] + m["cpu_children_s"] for m in runs)
        efficiency = statistics.median(m["efficiency"] for m in runs)
        rows.append((
            ", ".join(f"{k}={v}" for k, v in overrides.items()),
            "yes" if all(_succeeded(m) for m in runs) else "NO",
            f"{wall:.2f} (" + "; ".join(f"{m['wall_s']:.1f}" for m in runs) + ")",
            f"{wall / first_wall:.2f}",
            f"{efficiency:.3f}" if runs[0]["bound_s"] else "-",
            f"{statistics.median(m['overhead_ms_per_atom'] for m in runs):.1f}",
            f"{statistics.median(m['atoms_per_s'] for m in runs):.1f}",
            f"{runs[0].get('events_per_atom', 0):.1f}",
            f"{cpu / atoms * 1000:.1f}",
            f"{max(m['maxrss_self_mib'] for m in runs):.0f}",
            "/".join(f"{max(m.get('loadavg_1min', [0.0])):.0f}" for m in runs),
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    sys.exit(main())
