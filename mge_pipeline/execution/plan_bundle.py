"""A masterplan prepared for execution: graph, waves, cache keys and mapping keys, computed once."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx

from mge_pipeline.domain import AtomSpec, MasterPlan
from mge_pipeline.generation.prompts import file_context, project_context
from mge_pipeline.planning import check_masterplan, compute_waves


@dataclass(frozen=True)
class PlanBundle:
    plan: MasterPlan
    graph: nx.DiGraph = field(repr=False)
    waves: list[list[str]]
    spec_hashes: dict[str, str]
    mapping_keys: dict[str, str]

    @cached_property
    def atoms(self) -> dict[str, AtomSpec]:
        return self.plan.atom_map()

    @cached_property
    def wave_of(self) -> dict[str, int]:
        return {atom_id: index for index, wave in enumerate(self.waves) for atom_id in wave}

    @cached_property
    def project_prompt(self) -> str:
        """The prompt's project context, built once per plan: it is the same for every atom."""
        return project_context(self.plan)

    @cached_property
    def file_prompts(self) -> dict[str, str]:
        paths = sorted({atom.file_path for atom in self.atoms.values()})
        return {path: file_context(self.plan, path) for path in paths}

    @cached_property
    def names_by_file(self) -> dict[str, frozenset[str]]:
        """What each file's atoms define, so validation can tell a forward reference from a typo."""
        names: dict[str, set[str]] = {}
        for atom in self.atoms.values():
            names.setdefault(atom.file_path, set()).add(atom.name)
        return {path: frozenset(found) for path, found in names.items()}

    def direct_dependencies(self, atom_id: str) -> list[str]:
        return sorted(self.graph.predecessors(atom_id), key=self._order)

    def ancestors(self, atom_id: str) -> list[str]:
        return sorted(nx.ancestors(self.graph, atom_id), key=self._order)

    def dependents(self, atom_id: str) -> list[str]:
        """Every atom that builds on this one, directly or not."""
        return sorted(nx.descendants(self.graph, atom_id), key=self._order)

    def _order(self, atom_id: str) -> int:
        order: int = self.graph.nodes[atom_id].get("order", 0)
        return order


def bundle_masterplan(plan: MasterPlan) -> PlanBundle:
    """Raises MasterPlanError for a plan that cannot run, before anything is compiled."""
    graph = check_masterplan(plan)
    waves = compute_waves(graph)
    return PlanBundle(
        plan=plan,
        graph=graph,
        waves=waves,
        spec_hashes=spec_hashes(plan, graph),
        mapping_keys=mapping_keys([atom.id for atom in plan.atoms()]),
    )


def spec_hashes(plan: MasterPlan, graph: nx.DiGraph) -> dict[str, str]:
    """A Merkle hash: an atom's key changes when its spec or any dependency's spec changes."""
    atoms = plan.atom_map()
    hashes: dict[str, str] = {}
    # A changed tsconfig changes what every check compiled; plans without one keep their keys.
    project = json.dumps(plan.project_files, sort_keys=True) if plan.project_files else ""
    project = hashlib.sha256(project.encode()).hexdigest() if project else ""
    # A task's own tests judge its atoms at the task level; a task without them adds nothing.
    task_tests = {
        atom.id: hashlib.sha256(task.tests.encode()).hexdigest()
        for phase in plan.phases
        for milestone in phase.milestones
        for task in milestone.tasks
        if task.tests
        for atom in task.atoms
    }
    for atom_id in nx.topological_sort(graph):
        parts = [
            atoms[atom_id].content_hash() + project + task_tests.get(atom_id, ""),
            *sorted(hashes[d] for d in graph.predecessors(atom_id)),
        ]
        hashes[atom_id] = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return hashes


def mapping_keys(atom_ids: list[str]) -> dict[str, str]:
    """Dagster mapping keys allow only [A-Za-z0-9_]; collisions after cleaning get a suffix."""
    keys: dict[str, str] = {}
    used: set[str] = set()
    for atom_id in atom_ids:
        base = re.sub(r"[^A-Za-z0-9_]", "_", atom_id)
        key, suffix = base, 2
        while key in used:
            key, suffix = f"{base}_{suffix}", suffix + 1
        used.add(key)
        keys[atom_id] = key
    return keys
