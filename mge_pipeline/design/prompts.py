"""The prompts of the three planning stages, as constants, and the builders that fill them.

Each stage's system prompt opens with a fixed first line (``*_ROLE``): the scripted Messages
API server of the tests recognises the stage by it, as a reader of the logs does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mge_pipeline.design.checks import MAX_ATOM_LOC
from mge_pipeline.domain.design import Discovery, PlannedTask, PlanOutline

DISCOVERY_ROLE = "You are a requirements analyst writing a discovery document."
PLANNING_ROLE = "You are a software architect turning a discovery document into a masterplan."
DECOMPOSITION_ROLE = "You are a senior engineer decomposing one task into atoms."

DISCOVERY_SYSTEM = f"""{DISCOVERY_ROLE}
Make the request explicit: its goal, its users, the entities and operations it needs, the
constraints it states or implies, the one implementation language, the top-level package
name, and what is out of scope. Prefer a small, complete core over a large wish list.
Answer with one JSON object of the given schema and nothing else."""

DISCOVERY_PROMPT = """The request:
{request}
{language_hint}"""

PLANNING_SYSTEM = f"""{PLANNING_ROLE}
Organise the work as phases → milestones → tasks. A task is one source file of the package:
give its id, a description, its target file (relative, under the package), the ids of the
tasks whose names it uses (depends_on, no cycles), the public names it provides, and
acceptance tests: pytest-style test_ functions that import the provided names from the file's
module and check the behaviour the discovery asks for. Keep tasks small: each will be split
into atoms of about ten lines.
Answer with one JSON object of the given schema and nothing else."""

PLANNING_PROMPT = """The discovery document:
{discovery}"""

DECOMPOSITION_SYSTEM = f"""{DECOMPOSITION_ROLE}
Split the task into atoms: each atom one function, class or method of about ten lines (at
most {MAX_ATOM_LOC}), with a unique snake_case id, the name it defines, its kind, its exact
signature (the definition's first line), a description precise enough to write it from,
the atoms it uses (depends_on: ids of this task's atoms, or 'task_id.name' for a name another
task provides), the standard-library imports it needs, and tests (asserts) it must pass.
Every name the task provides must be defined by one atom. No cycles.
Answer with one JSON object of the given schema and nothing else."""

DECOMPOSITION_PROMPT = """Task `{task_id}`: {name}
File: {file_path} ({language})
Description: {description}
It must provide: {provides}
Its acceptance tests:
```
{acceptance_tests}
```
{available}
Project goal: {goal}"""

CHECK_FEEDBACK_PROMPT = (
    "Your answer validates against the schema but breaks the plan's rules:\n{problems}\n"
    "Answer again with the whole corrected JSON object and nothing else."
)


def discovery_prompt(request: str, language: str | None) -> str:
    hint = f"The code must be written in {language}." if language else ""
    return DISCOVERY_PROMPT.format(request=request.strip(), language_hint=hint).strip()


def planning_prompt(discovery: Discovery) -> str:
    return PLANNING_PROMPT.format(discovery=discovery.model_dump_json(indent=2))


def decomposition_prompt(discovery: Discovery, outline: PlanOutline, task: PlannedTask) -> str:
    """The task, and what the tasks it depends on provide (all it may use from them)."""
    by_id = {t.id: t for t in outline.tasks()}
    available = _available([by_id[d] for d in task.depends_on if d in by_id])
    return DECOMPOSITION_PROMPT.format(
        task_id=task.id,
        name=task.name,
        file_path=task.file_path,
        language=discovery.language.value,
        description=task.description,
        provides=", ".join(task.provides),
        acceptance_tests=task.acceptance_tests.strip(),
        available=available,
        goal=discovery.goal,
    )


def _available(tasks: Sequence[PlannedTask]) -> str:
    if not tasks:
        return "It uses no other task."
    lines = ["Names of other tasks it may use (depend on them as 'task_id.name'):"]
    lines += [f"- {t.id} ({t.file_path}): {json.dumps(t.provides)}" for t in tasks]
    return "\n".join(lines)
