"""What the model answers on the way from a request to a masterplan, as pydantic schemas.

Three stages, three schemas: the discovery document (what is wanted), the outline (phases →
milestones → tasks, each task a file with dependencies and acceptance tests) and one task's
decomposition into atoms. They are sent to the API as JSON schemas (structured output) and
every answer is validated against them; what a schema cannot say (unique ids, resolvable
dependencies, no cycles, small atoms with tests) is checked by ``design/checks.py``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mge_pipeline.domain.masterplan import AtomKind, Language

SHORT_ID = r"^[a-z][a-z0-9_]*$"


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Entity(_Answer):
    name: str = Field(min_length=1, description="A thing the software manipulates.")
    attributes: list[str] = Field(default_factory=list, description="Its fields, 'name: type'.")


class Discovery(_Answer):
    """The discovery document: the request made explicit before anything is planned."""

    project_id: str = Field(pattern=SHORT_ID, description="snake_case id of the project.")
    goal: str = Field(min_length=1, description="One or two sentences: what is built and why.")
    users: list[str] = Field(min_length=1, description="Who uses it.")
    entities: list[Entity] = Field(default_factory=list)
    operations: list[str] = Field(min_length=1, description="What users can do with it.")
    constraints: list[str] = Field(default_factory=list)
    language: Language = Field(description="The one implementation language.")
    package: str = Field(pattern=SHORT_ID, description="Top-level package/folder of the code.")
    non_goals: list[str] = Field(default_factory=list, description="Explicitly out of scope.")


class PlannedTask(_Answer):
    """One task: one file's worth of work, with what it offers other tasks."""

    id: str = Field(pattern=SHORT_ID, description="Unique across the plan.")
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    file_path: str = Field(min_length=1, description="Target file, relative, e.g. 'pkg/x.py'.")
    depends_on: list[str] = Field(default_factory=list, description="Ids of tasks it needs.")
    provides: list[str] = Field(
        min_length=1, description="Names (functions/classes) other tasks may use from it."
    )
    acceptance_tests: str = Field(
        min_length=1, description="pytest-style test functions over the task's public names."
    )


class PlannedMilestone(_Answer):
    id: str = Field(pattern=SHORT_ID)
    name: str = Field(min_length=1)
    tasks: list[PlannedTask] = Field(min_length=1)


class PlannedPhase(_Answer):
    id: str = Field(pattern=SHORT_ID)
    name: str = Field(min_length=1)
    milestones: list[PlannedMilestone] = Field(min_length=1)


class PlanOutline(_Answer):
    """Phases → milestones → tasks: the masterplan before its atoms."""

    name: str = Field(min_length=1)
    description: str = ""
    phases: list[PlannedPhase] = Field(min_length=1)

    def tasks(self) -> list[PlannedTask]:
        return [t for p in self.phases for m in p.milestones for t in m.tasks]


class AtomDraft(_Answer):
    """One atom as the model decomposes a task; becomes an ``AtomSpec`` when assembled."""

    id: str = Field(pattern=SHORT_ID, description="Unique within the task.")
    name: str = Field(min_length=1, description="The symbol the atom defines.")
    kind: AtomKind = AtomKind.FUNCTION
    signature: str = Field(min_length=1, description="Exact first line of the definition.")
    description: str = Field(min_length=1)
    depends_on: list[str] = Field(
        default_factory=list,
        description="Atom ids of this task, or 'task_id.name' for a name another task provides.",
    )
    tests: str = Field(description="Asserts or test_* functions the atom must pass.")
    estimated_loc: int = Field(ge=1, description="Lines of code, about 10.")
    imports: list[str] = Field(
        default_factory=list, description="Standard-library import statements it needs."
    )
    parent_scope: str | None = Field(default=None, description="Class name, for methods.")


class TaskDecomposition(_Answer):
    atoms: list[AtomDraft] = Field(min_length=1)
