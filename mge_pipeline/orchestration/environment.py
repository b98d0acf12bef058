"""Resources chosen by environment, in one place: real or simulated model, store, sandbox."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import dagster as dg

from mge_pipeline import constants as c
from mge_pipeline import settings
from mge_pipeline.orchestration.build import PlanningResource
from mge_pipeline.orchestration.resources import (
    AnthropicResource,
    LLMProviderResource,
    RunServicesResource,
    SandboxResource,
    SimulatedModelResource,
    StoreResource,
)

PROVIDERS = ("anthropic", "simulated")


@dataclass(frozen=True)
class ResourceOptions:
    """Everything a caller may choose; ``None`` means the environment's default."""

    provider: str | None = None
    model: str | None = None
    database_url: str | None = None
    seed: int = 0
    fault_rate: float = c.DEFAULT_FAULT_RATE
    latency_seconds: float = c.DEFAULT_SIMULATED_LATENCY_SECONDS
    latency_sigma: float = 0.0
    sandbox_processes: int = c.DEFAULT_SANDBOX_PROCESSES
    allow_weak_sandbox: bool = False
    io_manager: str = "fs"

    def as_kwargs(self) -> dict[str, Any]:
        """JSON-serialisable, as ``build_reconstructable_job`` needs."""
        return asdict(self)


def make_llm_resource(options: ResourceOptions) -> LLMProviderResource:
    provider = options.provider or settings.provider_name()
    if provider == "anthropic":
        return AnthropicResource(
            model=options.model or settings.model_name(),
            api_key=settings.anthropic_api_key(),
            base_url=settings.anthropic_base_url(),
        )
    if provider == "simulated":
        return SimulatedModelResource(
            seed=options.seed,
            fault_rate=options.fault_rate,
            latency_seconds=options.latency_seconds,
            latency_sigma=options.latency_sigma,
        )
    raise ValueError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")


def make_resources(options: ResourceOptions | None = None) -> dict[str, Any]:
    options = options or ResourceOptions()
    resources: dict[str, Any] = {
        "store": StoreResource(database_url=options.database_url or settings.database_url()),
        "llm": make_llm_resource(options),
        "sandbox": SandboxResource(
            max_processes=options.sandbox_processes,
            allow_weak_sandbox=options.allow_weak_sandbox,
        ),
        "run_services": RunServicesResource(),
        "planning": PlanningResource(),
    }
    if options.io_manager == "memory":
        resources["io_manager"] = dg.mem_io_manager
    return resources
