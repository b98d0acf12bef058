"""Resources: the store, the LLM provider (real or simulated), the sandbox, the run's services.

Each keeps its live object in a private attribute, so every atom of a run shares one database
engine, one HTTP client and one sandbox pool, and each closes what it opened when the run ends
(``teardown_after_execution``).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod

import dagster as dg
from pydantic import Field, PrivateAttr

from mge_pipeline import constants as c
from mge_pipeline import settings as mge_settings
from mge_pipeline.execution.lifecycle import CancelProbe
from mge_pipeline.execution.plan_bundle import PlanBundle
from mge_pipeline.execution.run_context import RunContext
from mge_pipeline.execution.run_service import RunServices, open_run_services
from mge_pipeline.generation import AnthropicProvider, LLMProvider, SimulatedModel
from mge_pipeline.generation.rate_limit import CallGate, SharedCallSlots
from mge_pipeline.store import MgeStore
from mge_pipeline.store.llm_slots import StoreCallSlots
from mge_pipeline.validation import PythonSandbox


class StoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    database_url: str = Field(description="SQLAlchemy URL of the MGE store.")
    _store: MgeStore | None = PrivateAttr(default=None)

    def get_store(self) -> MgeStore:
        if self._store is None:
            self._store = MgeStore(self.database_url)
        return self._store

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._store is not None:
            self._store.dispose()
            self._store = None


class LLMProviderResource(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """Base of the two providers; ops depend on this, definitions pick the implementation.

    It also owns the run's call gate (rate limits, 429 slow-down, fatal-error breaker), since
    a resource instance lives exactly as long as one run.
    """

    _gate: CallGate | None = PrivateAttr(default=None)

    @abstractmethod
    def get_provider(self) -> LLMProvider: ...

    def call_gate(
        self,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
        max_in_flight: int | None = None,
        shared_slots: SharedCallSlots | None = None,
    ) -> CallGate:
        if self._gate is None:
            self._gate = CallGate(
                requests_per_minute=requests_per_minute,
                tokens_per_minute=tokens_per_minute,
                max_in_flight=max_in_flight,
                shared_slots=shared_slots,
            )
        return self._gate


class AnthropicResource(LLMProviderResource):
    model: str = Field(default=c.DEFAULT_MODEL, description="Anthropic model name.")
    api_key: str | None = Field(
        default=None, description="API key; use EnvVar('ANTHROPIC_API_KEY')."
    )
    base_url: str | None = Field(default=None, description="Override of the API base URL.")
    timeout_seconds: float = Field(default=c.DEFAULT_ATTEMPT_TIMEOUT_SECONDS)
    _provider: AnthropicProvider | None = PrivateAttr(default=None)

    def get_provider(self) -> LLMProvider:
        if self._provider is None:
            self._provider = AnthropicProvider(
                api_key=self.api_key,
                model=self.model,
                base_url=self.base_url,
                timeout_seconds=self.timeout_seconds,
            )
        return self._provider

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Close the SDK's HTTP client; the run's event loop is gone by now, so use a fresh one."""
        provider, self._provider = self._provider, None
        if provider is None or _loop_running():
            return  # inside a running loop the client is closed with it, by its owner
        with contextlib.suppress(Exception):  # connections of a closed loop are already dead
            asyncio.run(provider.aclose())


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class SimulatedModelResource(LLMProviderResource):
    seed: int = Field(default=0, description="Same seed, same answers.")
    fault_rate: float = Field(
        default=c.DEFAULT_FAULT_RATE,
        ge=0,
        le=1,
        description="Probability of a faulty answer per attempt.",
    )
    latency_seconds: float = Field(
        default=c.DEFAULT_SIMULATED_LATENCY_SECONDS,
        ge=0,
        description="Simulated time per call (the median when latency_sigma > 0).",
    )
    latency_sigma: float = Field(
        default=0.0, ge=0, description="Log-normal spread of the call time; 0 = constant."
    )

    _model: SimulatedModel | None = PrivateAttr(default=None)

    def get_provider(self) -> LLMProvider:
        """One model per run, so its prompt cache is shared by the run's atoms as the API's is."""
        if self._model is None:
            self._model = SimulatedModel(
                seed=self.seed,
                fault_rate=self.fault_rate,
                latency_seconds=self.latency_seconds,
                latency_sigma=self.latency_sigma,
            )
        return self._model


class SandboxResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    max_processes: int = Field(
        default=c.DEFAULT_SANDBOX_PROCESSES,
        ge=1,
        description="Sandbox processes at once per run; more than the cores only adds contention.",
    )
    allow_weak_sandbox: bool = Field(
        default=False,
        description=(
            "Run generated code with only a Python-level guard when bubblewrap is unavailable "
            "(generated code can escape it); off: such a run is refused."
        ),
    )
    _sandbox: PythonSandbox | None = PrivateAttr(default=None)

    def get_sandbox(self) -> PythonSandbox:
        if self._sandbox is None:
            self._sandbox = PythonSandbox(
                max_processes=self.max_processes, allow_weak=self.allow_weak_sandbox
            )
        return self._sandbox

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None


class RunServicesResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The run's services, built once per run worker from the other resources.

    Every step of the run in this process gets the same ``RunServices`` — one settlement board,
    one call gate, one validator — however many atom steps there are.
    """

    _services: dict[str, RunServices] = PrivateAttr(default_factory=dict)

    def cached(self) -> RunServices | None:
        """The run's services if a step of this run built them in this process already (a
        resource instance lives for one run, so there is at most one)."""
        return next(iter(self._services.values()), None)

    def services(
        self,
        bundle: PlanBundle,
        run: RunContext,
        *,
        store: StoreResource,
        llm: LLMProviderResource,
        sandbox: SandboxResource,
        cancel_probe: CancelProbe | None = None,
    ) -> RunServices:
        """``cancel_probe``, when given, is polled once a second from the first step on."""
        found = self._services.get(run.execution_id)
        if found is None:
            settings = run.settings
            found = open_run_services(
                bundle,
                run,
                store=store.get_store(),
                provider=llm.get_provider(),
                sandbox=sandbox.get_sandbox(),
                gate=llm.call_gate(
                    settings.requests_per_minute,
                    settings.tokens_per_minute,
                    settings.max_concurrent,
                    _deployment_slots(store.get_store(), run.execution_id),
                ),
            )
            self._services[run.execution_id] = found
        found.watch(cancel_probe)
        return found

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        for services in self._services.values():
            services.stop_watching()
            services.board.close()
        self._services.clear()


# Dagster run states that mean someone asked the run to stop.
_TERMINATING = (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)


def dagster_cancel_probe(instance: dg.DagsterInstance, run_id: str) -> CancelProbe:
    """A terminate request (Dagit, GraphQL ``terminateRun``, ``mge cancel``) marks the run
    CANCELING in the instance; the run worker reads that rather than wait for an interrupt."""

    def probe() -> str | None:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in _TERMINATING:
            return "the run was terminated (Dagit, GraphQL terminateRun or mge cancel)"
        return None

    return probe


def fail_lost_runs(instance: dg.DagsterInstance, store: MgeStore) -> list[str]:
    """Executions whose worker died are marked failed in the store (with their reservations
    released) and their Dagster runs, still STARTED, failed with the same reason."""
    lost = store.mark_lost_executions()
    for execution_id in lost:
        info = store.execution_info(execution_id)
        reason = (info.reason if info else None) or "the run worker died"
        runs = list(
            instance.get_runs(
                filters=dg.RunsFilter(
                    tags={c.TAG_EXECUTION_ID: execution_id},
                    statuses=list(_UNFINISHED),
                )
            )
        )
        own = instance.get_run_by_id(execution_id)
        if (
            own is not None
            and own.status in _UNFINISHED
            and own.run_id not in {run.run_id for run in runs}
        ):
            runs.append(own)
        for run in runs:
            instance.report_run_failed(run, message=reason)
    return lost


_UNFINISHED = (
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.CANCELING,
)


def _deployment_slots(store: MgeStore, execution_id: str) -> StoreCallSlots | None:
    """The store's deployment-wide call slots when ``MGE_LLM_SLOTS`` sets a limit."""
    limit = mge_settings.llm_slots()
    return StoreCallSlots(store, limit, holder=execution_id) if limit else None
