"""The only package that imports Dagster: compiler, ops, resources, config, sensors."""

from mge_pipeline.orchestration.compiler import (
    compile_masterplan_job,
    compile_masterplan_job_from_file,
    job_name_for,
)
from mge_pipeline.orchestration.config import MasterplanRunConfig, default_run_config
from mge_pipeline.orchestration.resources import (
    AnthropicResource,
    LLMProviderResource,
    SandboxResource,
    SimulatedModelResource,
    StoreResource,
)

__all__ = [
    "AnthropicResource",
    "LLMProviderResource",
    "MasterplanRunConfig",
    "SandboxResource",
    "SimulatedModelResource",
    "StoreResource",
    "compile_masterplan_job",
    "compile_masterplan_job_from_file",
    "default_run_config",
    "job_name_for",
]
