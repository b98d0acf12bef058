"""From a request to a masterplan: discovery, planning and task decomposition by the model.

Pure logic, no Dagster: the stage functions (``stages.py``), the checks an answer must pass
before it is accepted (``checks.py``), the prompts (``prompts.py``) and the assembly of the
answers into an ordinary masterplan (``assemble.py``). ``orchestration/build.py`` runs the
stages as a Dagster job, one op per task for the decomposition.
"""

from mge_pipeline.design.assemble import assemble_masterplan, import_statement
from mge_pipeline.design.checks import (
    MAX_ATOM_LOC,
    cycle_problems,
    decomposition_problems,
    outline_problems,
)
from mge_pipeline.design.client import (
    PlanningUnavailableError,
    check_can_plan,
    planning_client,
)
from mge_pipeline.design.stages import (
    PlanningError,
    PlanningServices,
    StageResult,
    StageSettings,
    ask_checked,
    decompose,
    discover,
    plan_outline,
)

__all__ = [
    "MAX_ATOM_LOC",
    "PlanningError",
    "PlanningServices",
    "PlanningUnavailableError",
    "StageResult",
    "StageSettings",
    "ask_checked",
    "assemble_masterplan",
    "check_can_plan",
    "cycle_problems",
    "decompose",
    "decomposition_problems",
    "discover",
    "import_statement",
    "outline_problems",
    "plan_outline",
    "planning_client",
]
