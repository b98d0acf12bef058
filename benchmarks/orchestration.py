"""Orchestration benchmark: a synthetic masterplan through the compiled Dagster job.

    python benchmarks/orchestration.py                          # 800 atoms, 10 waves, 2 s latency
    python benchmarks/orchestration.py --latency 0              # throughput, atoms per second
    python benchmarks/orchestration.py --atoms 40 --waves 4     # smoke test
    python benchmarks/orchestration.py --compare-stock --repeat 3       # MGE / stock Dagster
    python benchmarks/orchestration.py --preset realistic       # 5 s median, sigma 0.5, 10 % faults
    python benchmarks/orchestration.py --latency 0 --sizes 1000,2000,5000,10000
    python benchmarks/orchestration.py --compare io_manager=fs,memory --repeat 2
    python benchmarks/orchestration.py --executor celery --celery-workers 2    # dagster-celery

The job is built exactly as ``mge run`` builds it (``build_reconstructable_job`` over
``compile_masterplan_job_from_file``, run config from ``default_run_config``) and executed with
``dg.execute_job`` on a Dagster instance in a temporary DAGSTER_HOME: ``--instance default``
copies the repository's ``dagster.yaml`` there, as ``mge run`` does; ``stock`` writes none.
The benchmark imports the product and copies none of its wiring.

The simulated model answers each atom with its reference implementation after a call time
drawn by ``SimulatedModel.latency_for(atom_id, attempt_number)``: ``--latency`` seconds, or
log-normal with that median when ``--latency-sigma`` > 0. The **critical-path bound** is the
longest dependency chain of those call times, over the attempts each atom actually made (from
``report.json``); the **barrier bound** sums each wave's slowest chain, which is what a run
that waits for a whole wave before starting the next cannot beat.

``--compare-stock`` runs, interleaved with the MGE runs, a stock Dagster job of the same shape
built here with public APIs only (fan-out per wave, an async op per atom that only sleeps for
that atom's call time, collect, close) on the same async executor and a stock instance, and
prints the ratio of the walls. ``--validation stub`` replaces the sandbox subprocess with a
passing verdict, in this process only; it changes nothing in ``mge_pipeline``.

``--compare KEY=V1,V2`` and ``--sizes`` run each configuration in its own subprocess (so peak
memory is per configuration), interleaved ``--repeat`` times, and print medians.
Figures and their analysis: ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

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


def plan_waves(plan: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The atoms of ``build_masterplan``'s plan, wave by wave (one task per wave)."""
    tasks = plan["phases"][0]["milestones"][0]["tasks"]
    return [task["atoms"] for task in tasks]


def call_bounds(
    plan: dict[str, Any], attempts: Mapping[str, int], latency_for: Callable[[str, int], float]
) -> tuple[float, float]:
    """(critical-path bound, barrier bound) of the call times, given each atom's attempts.

    An atom's chain is the sum of its calls' times; it can finish no earlier than its slowest
    dependency plus its chain. With a barrier per wave, each wave lasts its slowest chain.
    """
    finish: dict[str, float] = {}
    barrier = 0.0
    for wave in plan_waves(plan):
        slowest = 0.0
        for atom in wave:
            chain = sum(
                latency_for(atom["id"], n) for n in range(1, attempts.get(atom["id"], 0) + 1)
            )
            start = max((finish[d] for d in atom["depends_on"]), default=0.0)
            finish[atom["id"]] = start + chain
            slowest = max(slowest, chain)
        barrier += slowest
    return max(finish.values(), default=0.0), barrier


def latency_model(args: argparse.Namespace) -> Callable[[str, int], float]:
    """The product's own call-time draw, configured as the run's model is."""
    from mge_pipeline.generation.simulated import SimulatedModel

    model = SimulatedModel(
        seed=args.seed, latency_seconds=args.latency, latency_sigma=args.latency_sigma
    )
    return model.latency_for


INSTANCES = ("default", "stock", "memory")

# Events in an in-memory SQLite database: NOT persisted, a reference point only.
_MEMORY_YAML = (
    "event_log_storage:\n"
    "  module: dagster._core.storage.event_log\n"
    "  class: InMemoryEventLogStorage\n"
)


def prepare_instance(kind: str, home: Path) -> str:
    """Write ``home/dagster.yaml`` for ``kind``; returns where its configuration came from."""
    home.mkdir(parents=True, exist_ok=True)
    if kind == "stock":
        return "stock (no dagster.yaml)"
    if kind == "memory":
        (home / "dagster.yaml").write_text(_MEMORY_YAML)
        return "memory (in-memory event log storage only, not persisted)"
    from mge_pipeline import settings

    template = settings.instance_config_template()
    if not template.exists():
        raise SystemExit(
            f"--instance default: {template} does not exist (a snapshot on PYTHONPATH needs the "
            "repository's dagster.yaml next to its mge_pipeline)"
        )
    shutil.copyfile(template, home / "dagster.yaml")
    return f"default ({template})"


STOCK_SHAPE_ENV = "MGE_BENCH_STOCK_SHAPE"
"""Path of a JSON file ``[[[atom_id, seconds], ...], ...]``, one list per wave."""


def make_stock_job(waves: Sequence[Sequence[tuple[str, float]]]) -> dg.JobDefinition:
    """prepare → per wave: fan-out ─map→ sleep ─collect→ close → … → finalize; nothing else."""
    from dagster_async_executor import async_executor

    @dg.op
    def prepare() -> int:
        return 0

    @dg.op(out=dg.DynamicOut(float))
    def fan_out(wave_index: int):
        for atom_id, seconds in waves[wave_index]:
            yield dg.DynamicOutput(float(seconds), mapping_key=atom_id)

    @dg.op
    async def generate_atom(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    @dg.op
    def close(wave_index: int, outcomes: list[float]) -> int:
        return wave_index + 1

    @dg.op
    def finalize(waves_done: int) -> int:
        return waves_done

    @dg.job(name="stock_masterplan_job", executor_def=async_executor)
    def stock_job() -> None:
        index = prepare()
        for k in range(len(waves)):
            started = fan_out.alias(f"wave_{k}")(index)
            outcomes = started.map(generate_atom.alias(f"wave_{k}_generate_atom"))
            index = close.alias(f"wave_{k}_close")(index, outcomes.collect())
        finalize(index)

    return stock_job


def stock_masterplan_job() -> dg.JobDefinition:
    """The reconstructor of the stock job: ``dg.reconstructable`` needs a module-level function."""
    waves = json.loads(Path(os.environ[STOCK_SHAPE_ENV]).read_text())
    return make_stock_job([[(a, s) for a, s in wave] for wave in waves])


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


def install_probes(probe: Probe, validation: str | None) -> None:
    """Times Dagster's event writes; for MGE runs (``validation`` set) the sandbox and store too."""
    from dagster import DagsterInstance

    # Every Dagster event goes through this one method on its way to the event log storage.
    probe.wrap_sync(DagsterInstance, "handle_new_event", "dagster: instance.handle_new_event")
    if validation is None:
        return
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
    for method in ("reserve", "settle", "record_attempt", "record_atom_result", "validated_codes"):
        if hasattr(MgeStore, method):
            probe.wrap_sync(MgeStore, method, f"store: {method}")


def source_info() -> dict[str, Any]:
    """Which mge_pipeline is measured: the editable checkout, or a snapshot on PYTHONPATH.

    A snapshot (``git archive HEAD mge_pipeline dagster.yaml | tar -x -C DIR``, the commit in
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
    """One run of ``args.job`` in this process, in a fresh temporary directory."""
    if args.job == "mge":
        _scheduling(args.scheduling)  # fails before any work where the field is missing
    root = Path(tempfile.mkdtemp(prefix="mge-bench-"))
    plan_id = f"bench_{args.atoms}x{args.waves}"
    plan = build_masterplan(
        args.atoms, args.waves, files=args.files, tests=args.tests, plan_id=plan_id
    )
    probe = Probe()
    install_probes(probe, args.validation if args.job == "mge" else None)
    run = _run_mge if args.job == "mge" else _run_stock
    try:
        metrics = run(args, plan, root)
    except BaseException:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        raise
    metrics.update(config=_config_of(args), source=source_info(), tmp_dir=str(root))
    metrics["probes"] = probe.summary()
    return metrics


def _run_mge(args: argparse.Namespace, plan: dict[str, Any], root: Path) -> dict[str, Any]:
    from dagster import build_reconstructable_job

    from mge_pipeline.orchestration import default_run_config
    from mge_pipeline.orchestration.environment import ResourceOptions
    from mge_pipeline.store import MgeStore

    plan_path, output_dir = root / "masterplan.json", root / "output"
    plan_path.write_text(json.dumps(plan))
    database_url = f"sqlite:///{root / 'mge.db'}"
    options = ResourceOptions(
        provider="simulated", database_url=database_url, seed=args.seed,
        fault_rate=args.fault_rate, latency_seconds=args.latency,
        latency_sigma=args.latency_sigma, sandbox_processes=args.sandbox_processes,
        io_manager=args.io_manager,
    )  # fmt: skip
    if args.executor == "celery":  # read when the job is compiled, here and in the workers
        os.environ["MGE_EXECUTOR"] = "celery"
    job = build_reconstructable_job(  # exactly what `mge run` executes
        "mge_pipeline.orchestration.compiler",
        "compile_masterplan_job_from_file",
        reconstructable_args=(str(plan_path),),
        reconstructable_kwargs={"options": options.as_kwargs()},
    )
    extra, scheduling = _scheduling(args.scheduling)
    if args.max_mutants is not None:
        extra["max_mutants"] = args.max_mutants
    if args.cross_check is not None:
        extra["cross_check"] = args.cross_check
    run_config = default_run_config(
        max_concurrent=args.max_concurrent, output_dir=str(output_dir), budget_usd=1e9, **extra
    )
    if args.executor == "celery":
        with _celery_workers(args, root):
            metrics = _execute(job, run_config, root / "dagster", args.instance)
    else:
        metrics = _execute(job, run_config, root / "dagster", args.instance)
    report_path = output_dir / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    store = MgeStore(database_url)
    state = store.execution_state(metrics["run_id"])
    store.dispose()
    attempts = {atom["atom_id"]: atom["attempts"] for atom in report.get("atoms", [])}
    bound, barrier = call_bounds(plan, attempts, latency_model(args))
    return {
        **metrics,
        "scheduling": scheduling,
        "report_status": report.get("status"),
        "atoms_total": report.get("atoms_total", args.atoms),
        "atoms_validated": report.get("atoms_validated", 0),
        "attempts_total": report.get("attempts_total"),
        "store_atoms_succeeded": state.atoms_succeeded if state else None,
        **_derived(args.atoms, metrics, bound, barrier),
    }


@contextlib.contextmanager
def _celery_workers(args: argparse.Namespace, root: Path) -> Iterator[None]:
    """``--celery-workers`` worker processes of MGE's Celery app (broker: MGE_CELERY_BROKER,
    default RabbitMQ on 127.0.0.1), each ``--celery-concurrency`` processes, until the run ends."""
    workers = []
    for index in range(args.celery_workers):
        log = root / f"celery-worker-{index}.log"
        with log.open("wb") as output:
            workers.append((log, subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "mge_pipeline.orchestration.celery_app",
                 "worker", "-Q", "dagster", "-c", str(args.celery_concurrency),
                 "-n", f"bench{index}-{os.getpid()}@%h", "-l", "WARNING",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                env={**os.environ, "MGE_EXECUTOR": "celery"}, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True,
            )))  # fmt: skip
    try:
        time.sleep(5)  # workers connect to the broker; tasks sent earlier just wait for them
        yield
    finally:
        for _, process in workers:
            os.killpg(process.pid, 15)
        for _, process in workers:
            process.wait(timeout=60)


def _scheduling(requested: str | None) -> tuple[dict[str, Any], str]:
    """The ``scheduling`` field for ``default_run_config``, passed only where it exists."""
    from mge_pipeline.orchestration import MasterplanRunConfig

    field = MasterplanRunConfig.model_fields.get("scheduling")
    if field is not None:
        value = requested or field.default
        return ({"scheduling": requested} if requested else {}), str(getattr(value, "value", value))
    if requested not in (None, "waves"):
        raise SystemExit(
            f"--scheduling {requested}: this mge_pipeline ({source_info()['commit']}) has no "
            "`scheduling` field on MasterplanRunConfig; it only schedules by waves"
        )
    return {}, "waves (no scheduling field)"


def _run_stock(args: argparse.Namespace, plan: dict[str, Any], root: Path) -> dict[str, Any]:
    latency_for = latency_model(args)
    waves = [[(a["id"], latency_for(a["id"], 1)) for a in wave] for wave in plan_waves(plan)]
    shape = root / "stock_shape.json"
    shape.write_text(json.dumps(waves))
    os.environ[STOCK_SHAPE_ENV] = str(shape)
    job = dg.reconstructable(stock_masterplan_job)
    run_config = {"execution": {"config": {"max_concurrent": args.max_concurrent}}}
    metrics = _execute(job, run_config, root / "dagster", args.instance)
    bound, barrier = call_bounds(
        plan, {a["id"]: 1 for w in plan_waves(plan) for a in w}, latency_for
    )
    done = metrics["generate_steps_succeeded"]
    return {
        **metrics,
        "scheduling": "waves (stock job)",
        "report_status": "completed" if metrics["success"] and done == args.atoms else "failed",
        "atoms_total": args.atoms,
        "atoms_validated": done,
        "attempts_total": done,
        "store_atoms_succeeded": None,
        **_derived(args.atoms, metrics, bound, barrier),
    }


def _execute(
    job: Any, run_config: dict[str, Any], home: Path, instance_kind: str
) -> dict[str, Any]:
    """``dg.execute_job`` on the instance of a fresh DAGSTER_HOME; what it cost, its events."""
    instance_label = prepare_instance(instance_kind, home)
    os.environ["DAGSTER_HOME"] = str(home)
    run_config = {**run_config, "loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    started_compile = time.perf_counter()
    job.get_definition()  # compile once up front, so its cost is reported apart from the run
    compile_seconds = time.perf_counter() - started_compile
    cpu_before = _cpu_seconds(resource.RUSAGE_SELF), _cpu_seconds(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    with dg.DagsterInstance.get() as instance:
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
        rss = _maxrss_mib(resource.RUSAGE_SELF), _maxrss_mib(resource.RUSAGE_CHILDREN)
        events = instance.all_logs(run_id)  # after the RSS reading: 13 events per atom
    return {
        "instance": instance_label,
        "success": success,
        "run_id": run_id,
        "compile_s": compile_seconds,
        "wall_s": wall,
        "cpu_self_s": cpu_self,
        "cpu_children_s": cpu_children,
        "loadavg_1min": [round(load_before, 2), round(load_after, 2)],
        "maxrss_self_mib": rss[0],
        "maxrss_children_mib": rss[1],
        **_event_metrics(events),
    }


def _derived(atoms: int, m: dict[str, Any], bound: float, barrier: float) -> dict[str, Any]:
    wall = m["wall_s"]
    return {
        "bound_s": bound,
        "barrier_bound_s": barrier,
        "efficiency": bound / wall if wall else 0.0,
        "overhead_ms_per_atom": (wall - bound) / atoms * 1000,
        "atoms_per_s": atoms / wall if wall else 0.0,
        "cpu_ms_per_atom": (m["cpu_self_s"] + m["cpu_children_s"]) / atoms * 1000,
        "events_per_atom": m["events_total"] / atoms,
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
    succeeded = sum(
        1
        for entries in generate_steps.values()
        if any(_event_type(e) == "STEP_SUCCESS" for e in entries)
    )
    return {
        "failures": failures[:5],
        "generate_steps_succeeded": succeeded,
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


COMPARABLE = {
    "atoms": int, "waves": int, "latency": float, "latency_sigma": float, "fault_rate": float,
    "seed": int, "max_concurrent": int, "io_manager": str, "validation": str, "instance": str,
    "sandbox_processes": int, "tests": str, "files": int, "scheduling": str, "job": str,
    "executor": str, "max_mutants": int, "cross_check": str,
}  # fmt: skip
# What the stock job shares with the MGE run it is compared with: its shape and call times.
STOCK_SHAPE = ("atoms", "waves", "latency", "latency_sigma", "seed", "max_concurrent")
PRESETS: dict[str, dict[str, Any]] = {
    # The seed's per-atom figures: calls of about 5 s with a long right tail, 10 % bad answers.
    "realistic": {"latency": 5.0, "latency_sigma": 0.5, "fault_rate": 0.1},
}
# Options of the parent that its subprocesses must not see; True: the option takes a value.
_PARENT_ONLY = {"--compare": True, "--compare-stock": False, "--sizes": True, "--repeat": True,
                "--json-out": True}  # fmt: skip


def _config_of(args: argparse.Namespace) -> dict[str, Any]:
    return {key: getattr(args, key) for key in COMPARABLE}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--atoms", type=int, default=800)
    add("--waves", type=int, default=10)
    add("--latency", type=float, default=2.0, help="median simulated seconds per LLM call")
    add("--latency-sigma", type=float, default=0.0,
        help="log-normal spread of the call time (0: constant --latency)")  # fmt: skip
    add("--fault-rate", type=float, default=0.0, help="share of answers with an injected fault")
    add("--seed", type=int, default=0, help="seed of the simulated model (faults, call times)")
    add("--preset", choices=sorted(PRESETS), default=None,
        help="realistic: --latency 5 --latency-sigma 0.5 --fault-rate 0.1 (explicit options win)")  # fmt: skip
    add("--max-concurrent", type=int, default=100, help="LLM calls in flight (default_run_config)")
    add("--scheduling", choices=("waves", "dependencies"), default=None,
        help="the prepare op's `scheduling` field, where mge_pipeline has it (default: its own)")  # fmt: skip
    add("--io-manager", choices=("fs", "memory"), default="fs")
    add("--executor", choices=("async", "celery"), default="async",
        help="async: one run worker; celery: steps on --celery-workers worker processes")  # fmt: skip
    add("--celery-workers", type=int, default=2)
    add("--celery-concurrency", type=int, default=8, help="processes per Celery worker")
    add("--validation", choices=("sandbox", "stub"), default="sandbox",
        help="sandbox: the real subprocess per atom; stub: a passing verdict, no process")  # fmt: skip
    add("--tests", choices=("trivial", "empty"), default="trivial",
        help="each atom's tests: one assert, or an empty string")  # fmt: skip
    add("--sandbox-processes", type=int, default=4)
    add("--max-mutants", type=int, default=None,
        help="mutants run against each validated atom's tests (default: the product's)")  # fmt: skip
    add("--cross-check", choices=("weak", "all", "off"), default=None,
        help="run config cross_check (default: the product's)")  # fmt: skip
    add("--instance", choices=INSTANCES, default="default",
        help="default: the repository's dagster.yaml; stock: none; memory: in-memory events")  # fmt: skip
    add("--files", type=int, default=5, help="modules the atoms are spread over")
    add("--job", choices=("mge", "stock"), default="mge",
        help="mge: the compiled masterplan job; stock: the stock Dagster job of the same shape")  # fmt: skip
    add("--compare", action="append", default=[], metavar="KEY=V1,V2",
        help=f"run each value side by side (repeatable: cartesian product); keys: {', '.join(COMPARABLE)}")  # fmt: skip
    add("--compare-stock", action="store_true",
        help="also run the stock Dagster job of the same shape on a stock instance, interleaved")  # fmt: skip
    add("--sizes", default=None, metavar="N1,N2,...",
        help="run each plan size in a subprocess; wall, atoms/s, peak RSS, linearity")  # fmt: skip
    add("--repeat", type=int, default=1, help="runs per configuration (interleaved)")
    add("--json-out", type=Path, default=None, help="write the metrics as JSON")
    add("--keep", action="store_true", help="keep the temporary directory")
    add("--verbose", action="store_true", help="print probes, event types, waves")
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _parser()
    preset = parser.parse_known_args(argv)[0].preset
    if preset:
        parser.set_defaults(**PRESETS[preset])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.compare or args.compare_stock or args.sizes:
        return _series(args, argv)
    metrics = run_once(args)
    if args.json_out:
        args.json_out.write_text(json.dumps(metrics, indent=2, default=str))
    _print_run(metrics, verbose=args.verbose)
    if not args.keep:
        shutil.rmtree(metrics["tmp_dir"], ignore_errors=True)
    return 0 if _succeeded(metrics) else 1


def _succeeded(m: dict[str, Any]) -> bool:
    return bool(
        m["success"] and m["report_status"] == "completed"
        and m["atoms_validated"] == m["atoms_total"] == m["config"]["atoms"]
    )  # fmt: skip


def _print_run(m: dict[str, Any], *, verbose: bool) -> None:
    c = m["config"]
    sigma = f" (log-normal median, sigma {c['latency_sigma']})" if c["latency_sigma"] else ""
    print(
        f"{c['job']} job: {c['atoms']} atoms / {c['waves']} waves / latency {c['latency']} s{sigma}"
        f" / fault rate {c['fault_rate']} / max_concurrent {c['max_concurrent']}"
        f" / scheduling {m['scheduling']} / instance {m['instance']}"
    )
    if c["job"] == "mge":
        print(
            f"  io {c['io_manager']} / validation {c['validation']} (tests {c['tests']}, "
            f"{c['sandbox_processes']} sandbox processes)"
        )
    src = m["source"]
    print(
        f"  mge_pipeline: {src['path']} at {src['commit']}"
        + (" (uncommitted changes)" if src["dirty"] else "")
    )
    verdict = f"  run: {'OK' if _succeeded(m) else 'FAILED'} (dagster success={m['success']}, "
    if c["job"] == "stock":
        print(verdict + f"{m['atoms_validated']}/{m['atoms_total']} generate steps succeeded)")
    else:
        print(
            verdict + f"report {m['report_status']}, {m['atoms_validated']}/{m['atoms_total']} "
            f"atoms validated, {m['attempts_total']} attempts, store says "
            f"{m['store_atoms_succeeded']} succeeded)"
        )
    for failure in m.get("failures", []):
        print(f"  failure: {failure}")
    rows = [
        ("compile (plan → job)", f"{m['compile_s']:8.2f} s"),
        ("wall time (execute_job)", f"{m['wall_s']:8.2f} s"),
        ("critical-path bound", f"{m['bound_s']:8.2f} s  (longest dependency chain of call times)"),
        ("barrier bound", f"{m['barrier_bound_s']:8.2f} s  (sum of each wave's slowest chain)"),
        ("efficiency", f"{m['efficiency']:8.3f}    (critical-path bound / wall)"),
        ("overhead per atom", f"{m['overhead_ms_per_atom']:8.1f} ms ((wall − bound) / atoms)"),
        ("throughput", f"{m['atoms_per_s']:8.1f} atoms/s (atoms / wall)"),
        ("CPU self / children", f"{m['cpu_self_s']:8.1f} s / {m['cpu_children_s']:.1f} s"),
        ("CPU per atom", f"{m['cpu_ms_per_atom']:8.1f} ms (all processes); load average "
         f"before/after {m['loadavg_1min'][0]:.1f}/{m['loadavg_1min'][1]:.1f} on {os.cpu_count()} CPUs"),
        ("peak RSS self / children", f"{m['maxrss_self_mib']:8.0f} MiB / {m['maxrss_children_mib']:.0f} MiB"),
        ("dagster events", f"{m['events_total']:8d}     ({m['events_per_atom']:.1f} per atom, "
         f"{m['events_per_generate_step']:.1f} per generate step)"),
    ]  # fmt: skip
    for label, value in rows:
        if label == "efficiency" and not m["bound_s"]:
            continue
        print(f"  {label:<27} {value}")
    if verbose:
        _print_details(m)


def _print_details(m: dict[str, Any]) -> None:
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


def _series(args: argparse.Namespace, argv: list[str]) -> int:
    """``--compare``, ``--compare-stock``, ``--sizes``: each run in its own subprocess."""
    if args.sizes and args.compare:
        raise SystemExit("--sizes and --compare: choose one")
    configs = _configs(args)
    results = _run_series(configs, _strip_parent_only(argv), args.repeat)
    mge = [n for n, overrides in enumerate(configs) if overrides.get("job") != "stock"]
    if args.sizes:
        _print_sizes(configs, results)
    else:
        _print_comparison(configs, results, mge)
    if args.compare_stock:
        _print_stock_ratio(configs, results, mge)
    return 0 if all(_succeeded(m) for runs in results.values() for m in runs) else 1


def _configs(args: argparse.Namespace) -> list[dict[str, str]]:
    """The overrides of each configuration; stock ones after the MGE ones, one per shape."""
    axes: list[tuple[str, list[str]]] = []
    for spec in args.compare:
        key, _, values = spec.partition("=")
        key = key.strip().replace("-", "_")
        if key not in COMPARABLE or not values:
            raise SystemExit(
                f"--compare {spec!r}: expected KEY=V1,V2 with KEY in {', '.join(COMPARABLE)}"
            )
        axes.append((key, [v.strip() for v in values.split(",")]))
    if args.sizes:
        axes.append(("atoms", [v.strip() for v in args.sizes.split(",")]))
    configs = [dict(zip([k for k, _ in axes], values, strict=True))
               for values in itertools.product(*[v for _, v in axes])]  # fmt: skip
    if args.compare_stock:
        shapes = {_shape_of(c): c for c in configs if c.get("job") != "stock"}
        configs += [
            {**{k: v for k, v in shape}, "job": "stock", "instance": "stock"} for shape in shapes
        ]
    return configs


def _shape_of(overrides: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((k, overrides[k]) for k in STOCK_SHAPE if k in overrides)


def _run_series(
    configs: list[dict[str, str]], base: list[str], repeat: int
) -> dict[int, list[dict[str, Any]]]:
    results: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="mge-bench-series-") as scratch:
        for repetition, (number, overrides) in itertools.product(range(repeat), enumerate(configs)):
            out = Path(scratch) / f"{number}-{repetition}.json"
            extra = [x for k, v in overrides.items() for x in (f"--{k.replace('_', '-')}", v)]
            command = [sys.executable, __file__, *base, *extra, "--json-out", str(out)]
            label = _label(overrides)
            print(f"[{repetition + 1}/{repeat}] {label} …", flush=True)
            completed = subprocess.run(command, capture_output=True, text=True)
            if not out.exists():
                print(completed.stdout[-3000:], completed.stderr[-3000:], sep="\n")
                raise SystemExit(f"configuration {label} crashed (exit {completed.returncode})")
            results[number].append(json.loads(out.read_text()))
            print("   " + completed.stdout.strip().replace("\n", "\n   "), flush=True)
    return results


def _label(overrides: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in overrides.items()) or "mge (options as given)"


def _strip_parent_only(argv: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
        elif item in _PARENT_ONLY:
            skip = _PARENT_ONLY[item]
        elif not item.startswith(tuple(f"{option}=" for option in _PARENT_ONLY)):
            kept.append(item)
    return kept


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(m[key] for m in runs)


def _print_comparison(
    configs: list[dict[str, str]], results: dict[int, list[dict[str, Any]]], mge: list[int]
) -> None:
    header = (
        "configuration", "ok", "wall s (median; all)", "× first", "bound s", "barrier s",
        "efficiency", "overhead ms/atom", "atoms/s", "events/atom", "CPU ms/atom", "RSS MiB",
        "load",
    )  # fmt: skip
    rows = [header]
    first_wall = _median(results[mge[0]], "wall_s")
    for number, overrides in enumerate(configs):
        runs = results[number]
        wall = _median(runs, "wall_s")
        rows.append((
            _label(overrides),
            "yes" if all(_succeeded(m) for m in runs) else "NO",
            f"{wall:.2f} (" + "; ".join(f"{m['wall_s']:.1f}" for m in runs) + ")",
            f"{wall / first_wall:.2f}",
            f"{_median(runs, 'bound_s'):.2f}",
            f"{_median(runs, 'barrier_bound_s'):.2f}",
            f"{_median(runs, 'efficiency'):.3f}" if runs[0]["bound_s"] else "-",
            f"{_median(runs, 'overhead_ms_per_atom'):.1f}",
            f"{_median(runs, 'atoms_per_s'):.1f}",
            f"{runs[0]['events_per_atom']:.1f}",
            f"{_median(runs, 'cpu_ms_per_atom'):.1f}",
            f"{max(m['maxrss_self_mib'] for m in runs):.0f}",
            "/".join(f"{max(m['loadavg_1min']):.0f}" for m in runs),
        ))  # fmt: skip
    _print_table(rows)


def _print_stock_ratio(
    configs: list[dict[str, str]],
    results: dict[int, list[dict[str, Any]]],
    mge: list[int],
) -> None:
    """MGE against the stock job of its shape; the ratio is the median of the paired runs."""
    stock_of = {_shape_of(c): n for n, c in enumerate(configs) if c.get("job") == "stock"}
    rows = [(
        "configuration", "MGE wall s", "MGE efficiency", "stock wall s", "stock efficiency",
        "MGE / stock (median of paired runs)",
    )]  # fmt: skip
    for number in mge:
        runs, stock = results[number], results[stock_of[_shape_of(configs[number])]]
        ratios = [m["wall_s"] / s["wall_s"] for m, s in zip(runs, stock, strict=True)]
        rows.append((
            _label(configs[number]),
            f"{_median(runs, 'wall_s'):.2f}",
            f"{_median(runs, 'efficiency'):.3f}" if runs[0]["bound_s"] else "-",
            f"{_median(stock, 'wall_s'):.2f}",
            f"{_median(stock, 'efficiency'):.3f}" if stock[0]["bound_s"] else "-",
            f"{statistics.median(ratios):.2f} (" + "; ".join(f"{r:.2f}" for r in ratios) + ")",
        ))  # fmt: skip
    print(
        "\nMGE against the stock Dagster job of the same shape (stock instance, one call per atom):"
    )
    _print_table(rows)


def _print_sizes(configs: list[dict[str, str]], results: dict[int, list[dict[str, Any]]]) -> None:
    """Per size: wall, throughput, memory, and how wall per atom grows from the size before."""
    rows = [(
        "atoms", "ok", "wall s (median)", "bound s", "atoms/s", "overhead ms/atom",
        "peak RSS MiB", "wall/atom × previous",
    )]  # fmt: skip
    previous: float | None = None
    for number, overrides in enumerate(configs):
        if overrides.get("job") == "stock":
            continue
        runs = results[number]
        atoms = runs[0]["config"]["atoms"]
        per_atom = _median(runs, "wall_s") / atoms
        rows.append((
            str(atoms),
            "yes" if all(_succeeded(m) for m in runs) else "NO",
            f"{_median(runs, 'wall_s'):.2f}",
            f"{_median(runs, 'bound_s'):.2f}",
            f"{_median(runs, 'atoms_per_s'):.1f}",
            f"{_median(runs, 'overhead_ms_per_atom'):.1f}",
            f"{max(m['maxrss_self_mib'] for m in runs):.0f}",
            f"{per_atom / previous:.2f}" if previous else "-",
        ))  # fmt: skip
        previous = per_atom
    print("\nLinearity (1.00 in the last column: wall grows in proportion to the atoms):")
    _print_table(rows)


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main())
