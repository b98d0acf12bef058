"""The outline and every task's atoms become one ordinary masterplan.

Ids: an atom's id is ``task_id.atom_id`` (atom ids are only unique within their task, since
tasks are decomposed in parallel without seeing each other). A dependency on another task's
name (``task_id.name``) becomes a dependency on the atom of that task that defines the name,
plus the import of it when the files differ. The result goes through ``bundle_masterplan``
like any hand-written plan, so a plan built here is one ``mge run`` accepts.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from mge_pipeline.domain import (
    AtomContext,
    AtomSpec,
    Language,
    MasterPlan,
    Milestone,
    Phase,
    Task,
)
from mge_pipeline.domain.design import (
    AtomDraft,
    Discovery,
    PlannedTask,
    PlanOutline,
    TaskDecomposition,
)
from mge_pipeline.exceptions import MasterPlanError
from mge_pipeline.execution.plan_bundle import bundle_masterplan


def assemble_masterplan(
    request: str,
    discovery: Discovery,
    outline: PlanOutline,
    decompositions: Mapping[str, TaskDecomposition],
) -> MasterPlan:
    """The masterplan; MasterPlanError (one line per problem) if it cannot run."""
    missing = [t.id for t in outline.tasks() if t.id not in decompositions]
    if missing:
        raise MasterPlanError([f"task '{t}': no decomposition" for t in missing])
    names = {
        (task_id, atom.name): atom.id
        for task_id, decomposition in decompositions.items()
        for atom in decomposition.atoms
    }
    files = {t.id: t.file_path for t in outline.tasks()}
    plan = MasterPlan(
        id=discovery.project_id,
        name=outline.name,
        description=f"{discovery.goal}\n\nRequest: {request.strip()}",
        phases=[
            Phase(
                id=phase.id,
                name=phase.name,
                milestones=[
                    Milestone(
                        id=milestone.id,
                        name=milestone.name,
                        tasks=[
                            _task(t, decompositions[t.id], discovery.language, names, files)
                            for t in milestone.tasks
                        ],
                    )
                    for milestone in phase.milestones
                ],
            )
            for phase in outline.phases
        ],
        acceptance_tests=_acceptance(outline, discovery.language),
    )
    bundle_masterplan(plan)  # the same checks as a hand-written plan: ids, dependencies, cycles
    return plan


def _task(
    task: PlannedTask,
    decomposition: TaskDecomposition,
    language: Language,
    names: Mapping[tuple[str, str], str],
    files: Mapping[str, str],
) -> Task:
    atoms = [_atom(task, draft, language, names, files) for draft in decomposition.atoms]
    return Task(id=task.id, name=task.name, description=task.description, atoms=atoms)


def _atom(
    task: PlannedTask,
    draft: AtomDraft,
    language: Language,
    names: Mapping[tuple[str, str], str],
    files: Mapping[str, str],
) -> AtomSpec:
    depends_on: list[str] = []
    imports = list(draft.imports)
    for dep in draft.depends_on:
        other, _, name = dep.partition(".")
        if not name:
            depends_on.append(f"{task.id}.{dep}")
            continue
        depends_on.append(f"{other}.{names[(other, name)]}")
        if files[other] != task.file_path:
            imports.append(import_statement(language, task.file_path, files[other], name))
    return AtomSpec(
        id=f"{task.id}.{draft.id}",
        name=draft.name,
        description=draft.description,
        language=language,
        file_path=task.file_path,
        kind=draft.kind,
        signature=draft.signature,
        depends_on=depends_on,
        tests=draft.tests,
        estimated_loc=draft.estimated_loc,
        context=AtomContext(imports=list(dict.fromkeys(imports)), parent_scope=draft.parent_scope),
    )


def import_statement(language: Language, importer: str, source: str, name: str) -> str:
    """How ``importer`` imports ``name`` from the file ``source`` of the same plan."""
    stem = posixpath.splitext(source)[0]
    if language is Language.PYTHON:
        return f"from {stem.replace('/', '.')} import {name}"
    relative = posixpath.relpath(stem, posixpath.dirname(importer) or ".")
    relative = relative if relative.startswith(".") else f"./{relative}"
    if language is Language.TYPESCRIPT:
        return f"import {{ {name} }} from '{relative}';"
    return f"const {{ {name} }} = require('{relative}');"


def _acceptance(outline: PlanOutline, language: Language) -> str:
    """The tasks' acceptance tests run against the assembled output (pytest: Python only)."""
    if language is not Language.PYTHON:
        return ""
    return "\n\n".join(t.acceptance_tests.strip() for t in outline.tasks()) + "\n"
