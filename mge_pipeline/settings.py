"""The one place that reads environment variables; everything else gets values passed in.

| variable            | default                                  |
|---------------------|------------------------------------------|
| MGE_HOME            | ./.mge                                   |
| MGE_DATABASE_URL    | sqlite:///$MGE_HOME/mge.db               |
| MGE_OUTPUT_DIR      | $MGE_HOME/output                         |
| MGE_PROVIDER        | anthropic if ANTHROPIC_API_KEY is set, else simulated |
| MGE_MODEL           | claude-sonnet-5-5                        |
| ANTHROPIC_API_KEY   | unset                                    |
| ANTHROPIC_BASE_URL  | the SDK's default                        |
| MGE_EXAMPLES_DIR    | <repository>/examples/masterplans        |
| MGE_SANDBOX_READ_ONLY | none: host paths (``:``-separated) checks may read |
| MGE_REVIEW_BOTTOM_PERCENT | 15: validated atoms queued for review, lowest confidence first |
| MGE_REVIEWER        | the login name: who ``mge review`` records as deciding |
| MGE_SCHEDULES       | stopped: ``running`` starts the retry and re-validation schedules |
| MGE_RETRY_SCHEDULE  | */30 * * * *: cron of the retry of transiently failed masterplans |
| MGE_REVALIDATE_SCHEDULE | 0 4 * * *: cron of the re-validation of completed masterplans |
| MGE_LLM_SLOTS       | unset: a positive number limits LLM calls in flight across all runs |
| MGE_EXECUTOR        | async: ``celery`` runs the steps on dagster-celery workers |
| MGE_CELERY_BROKER   | pyamqp://guest:guest@127.0.0.1:5672// (RabbitMQ) |
| MGE_CELERY_BACKEND  | rpc:// |
| MGE_API_TOKENS      | none: ``name:token:scope+scope``, ``;``-separated (``mge serve``) |
| MGE_API_TOKENS_FILE | none: a file of such entries, one a line (``#`` comments) |
| MGE_DAGSTER_URL     | http://127.0.0.1:3000: Dagster's webserver, for ``mge serve`` |
"""

from __future__ import annotations

import os
from pathlib import Path

from mge_pipeline import constants as c

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


def mge_home() -> Path:
    return Path(os.environ.get(c.ENV_HOME, c.DEFAULT_HOME)).resolve()


def database_url() -> str:
    return os.environ.get(c.ENV_DATABASE_URL) or f"sqlite:///{mge_home() / 'mge.db'}"


def output_root() -> Path:
    return Path(os.environ.get(c.ENV_OUTPUT_DIR) or mge_home() / "output").resolve()


def anthropic_api_key() -> str | None:
    return os.environ.get(c.ENV_ANTHROPIC_API_KEY) or None


def anthropic_base_url() -> str | None:
    return os.environ.get(c.ENV_ANTHROPIC_BASE_URL) or None


def provider_name() -> str:
    """Explicit MGE_PROVIDER wins; otherwise a key in the environment means the real API."""
    explicit = os.environ.get(c.ENV_PROVIDER)
    if explicit:
        return explicit
    return "anthropic" if anthropic_api_key() else "simulated"


def model_name() -> str:
    return os.environ.get(c.ENV_MODEL) or c.DEFAULT_MODEL


def lost_after_seconds() -> float:
    """How long a running execution may go without a heartbeat before it counts as lost."""
    value = os.environ.get(c.ENV_LOST_AFTER_SECONDS)
    return float(value) if value else c.DEFAULT_LOST_AFTER_SECONDS


def examples_dir() -> Path:
    return Path(os.environ.get(c.ENV_EXAMPLES_DIR) or REPOSITORY_ROOT / "examples" / "masterplans")


def dagster_home() -> Path:
    """DAGSTER_HOME when set (as ``dagster dev`` uses it), else $MGE_HOME/dagster."""
    return Path(os.environ.get("DAGSTER_HOME") or mge_home() / "dagster").resolve()


def instance_config_template() -> Path:
    """The team configuration (PostgreSQL, deploy/team/dagster.yaml) once DAGSTER_PG_HOST is
    set, else the embedded SQLite one."""
    if os.environ.get("DAGSTER_PG_HOST"):
        return REPOSITORY_ROOT / "deploy" / "team" / "dagster.yaml"
    return REPOSITORY_ROOT / "dagster.yaml"


def metrics_dir(*, create: bool = True) -> Path:
    """Where every MGE process writes its Prometheus samples (multiprocess mode).

    ``PROMETHEUS_MULTIPROC_DIR`` wins when set, as prometheus-client documents; otherwise
    $MGE_HOME/metrics, exported into the environment so child processes (Dagster run workers)
    write to the same place. ``create=False`` only decides the path (importing must not touch
    the disk); the directory is made before the first sample is written.
    """
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(configured) if configured else mge_home() / "metrics"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path


def pushgateway_url() -> str | None:
    return os.environ.get("MGE_PUSHGATEWAY_URL") or None


def sandbox_read_only_paths() -> list[str]:
    """Host paths the operator lets checks read, e.g. a project's own test suite."""
    return [p for p in os.environ.get(c.ENV_SANDBOX_READ_ONLY, "").split(os.pathsep) if p]


def review_bottom_percent() -> float:
    """A value that is not a number between 0 and 100 is an error, not a silent default."""
    raw = os.environ.get(c.ENV_REVIEW_BOTTOM_PERCENT)
    if raw is None or not raw.strip():
        return c.DEFAULT_REVIEW_BOTTOM_PERCENT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"{c.ENV_REVIEW_BOTTOM_PERCENT}={raw!r} is not a percentage (0-100)")
    return value


def reviewer_name() -> str:
    import getpass

    return os.environ.get(c.ENV_REVIEWER) or getpass.getuser()


def schedules_running() -> bool:
    """Schedules start stopped (turned on in Dagit) unless the deployment says otherwise."""
    value = os.environ.get(c.ENV_SCHEDULES, "stopped").strip().lower()
    if value not in ("running", "stopped"):
        raise ValueError(f"{c.ENV_SCHEDULES}={value!r} is neither 'running' nor 'stopped'")
    return value == "running"


def retry_schedule() -> str:
    return os.environ.get(c.ENV_RETRY_SCHEDULE) or c.DEFAULT_RETRY_SCHEDULE


def revalidate_schedule() -> str:
    return os.environ.get(c.ENV_REVALIDATE_SCHEDULE) or c.DEFAULT_REVALIDATE_SCHEDULE


def llm_slots() -> int | None:
    """The deployment-wide limit of LLM calls in flight; None when every run only has its own."""
    raw = os.environ.get(c.ENV_LLM_SLOTS, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{c.ENV_LLM_SLOTS}={raw!r} is not a positive whole number")
    return int(raw)


def executor_name() -> str:
    """``async`` (one run worker, atoms on one event loop) or ``celery`` (steps on workers)."""
    value = (os.environ.get(c.ENV_EXECUTOR) or "async").strip().lower()
    if value not in ("async", "celery"):
        raise ValueError(f"{c.ENV_EXECUTOR}={value!r} is neither 'async' nor 'celery'")
    return value


def celery_broker() -> str:
    return os.environ.get(c.ENV_CELERY_BROKER) or c.DEFAULT_CELERY_BROKER


def celery_backend() -> str:
    return os.environ.get(c.ENV_CELERY_BACKEND) or c.DEFAULT_CELERY_BACKEND


def api_token_entries() -> list[str]:
    """The raw ``name:token:scopes`` entries of ``MGE_API_TOKENS`` and ``MGE_API_TOKENS_FILE``;
    parsing and checking them is ``api/auth.py``'s job, so bad entries are reported there."""
    entries = [e.strip() for e in os.environ.get(c.ENV_API_TOKENS, "").split(";") if e.strip()]
    path = os.environ.get(c.ENV_API_TOKENS_FILE)
    if path:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        entries += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return entries


def dagster_url() -> str:
    return os.environ.get(c.ENV_DAGSTER_URL) or c.DEFAULT_DAGSTER_URL
