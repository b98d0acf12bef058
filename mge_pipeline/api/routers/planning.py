"""Atomization, dependencies and validation: thin wrappers over ``atomization/``,
``planning/`` and the atom validator, so integrators need not run the CLI."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from mge_pipeline.api.auth import Principal, Scope, require
from mge_pipeline.api.context import ApiContext, context_of
from mge_pipeline.api.errors import ApiError
from mge_pipeline.api.models import (
    AtomizeRequest,
    AtomizeResponse,
    DependencyGraphView,
    ValidateAtomRequest,
    ValidationView,
    WavesView,
)
from mge_pipeline.atomization.atomizer import AtomizedFile, SkippedFile, atomize_text
from mge_pipeline.atomization.graph import graph_statistics
from mge_pipeline.atomization.plan import build_masterplan
from mge_pipeline.atomization.plan_graph import plan_dependency_graph
from mge_pipeline.domain import MasterPlan
from mge_pipeline.domain.records import MasterplanStatus
from mge_pipeline.execution.plan_bundle import bundle_masterplan
from mge_pipeline.execution.review_edit import validate_atom_code
from mge_pipeline.planning.waves import plan_statistics

router = APIRouter(prefix="/api/v2", tags=["atomization, dependencies, validation"])
Context = Annotated[ApiContext, Depends(context_of)]
Reader = Annotated[Principal, Depends(require(Scope.READ))]
Operator = Annotated[Principal, Depends(require(Scope.OPERATE))]


def _stored_plan(context: ApiContext, masterplan_id: str) -> MasterPlan:
    plan = context.store.get_masterplan(masterplan_id)
    if plan is None:
        raise ApiError(404, f"masterplan '{masterplan_id}' is not in the store")
    return plan


@router.post("/atomization/atomize", response_model=AtomizeResponse)
def atomize(body: AtomizeRequest, context: Context, _: Operator) -> AtomizeResponse:
    """Submitted source files into a masterplan (one task per file), like ``mge atomize``."""
    bad = [f.path for f in body.files if PurePosixPath(f.path).is_absolute() or ".." in f.path]
    if bad:
        raise ApiError(422, f"body.files.path: must be relative, without '..': {', '.join(bad)}")
    atomized: list[AtomizedFile] = []
    skipped: list[str] = []
    for file in body.files:
        outcome = atomize_text(file.content, Path(file.path), file.path)
        if isinstance(outcome, SkippedFile):
            skipped.append(f"{outcome.path}: {outcome.reason}")
        else:
            atomized.append(outcome)
    if not atomized:
        raise ApiError(422, "body.files: no file could be atomized: " + "; ".join(skipped))
    result = build_masterplan(
        atomized,
        plan_id=body.masterplan_id,
        name=f"Atomized {', '.join(f.path for f in body.files)}",
        test_command=tuple(body.test_command),
    )
    skipped += [f"{shown}: {reason}" for shown, reason in result.skipped]
    if body.store:
        context.store.save_masterplan(result.plan, status=MasterplanStatus.DRAFT, source="api")
    return AtomizeResponse(
        masterplan_id=result.plan.id,
        atoms=sum(1 for _ in result.plan.atoms()),
        skipped=skipped,
        removed_edges=[edge.describe() for edge in result.graph.removed],
        statistics=dict(graph_statistics(result.graph).as_rows()),
        masterplan=result.plan.model_dump(mode="json"),
        stored=body.store,
    )


@router.get("/masterplans/{masterplan_id}/dependencies", response_model=DependencyGraphView)
def dependencies(masterplan_id: str, context: Context, _: Reader) -> DependencyGraphView:
    """The typed dependency graph: an edge per dependency, source → the atom that uses it."""
    typed = plan_dependency_graph(_stored_plan(context, masterplan_id))
    return DependencyGraphView(
        masterplan_id=masterplan_id,
        nodes=list(typed.graph.nodes),
        edges=[{"source": e.source, "target": e.target, "type": e.type.value} for e in typed.edges],
        statistics=dict(graph_statistics(typed).as_rows()),
    )


@router.get("/masterplans/{masterplan_id}/waves", response_model=WavesView)
def waves(masterplan_id: str, context: Context, _: Reader) -> WavesView:
    bundle = bundle_masterplan(_stored_plan(context, masterplan_id))
    return WavesView(
        masterplan_id=masterplan_id,
        waves=bundle.waves,
        statistics=dict(plan_statistics(bundle.graph).as_rows()),
    )


@router.post("/validation/atom", response_model=ValidationView)
async def validate_atom(body: ValidateAtomRequest, context: Context, _: Operator) -> ValidationView:
    """One atom's code through its validator in the sandbox, dependencies' validated code
    around it; nothing is stored."""
    bundle = bundle_masterplan(_stored_plan(context, body.masterplan_id))
    if body.atom_id not in bundle.atoms:
        raise ApiError(404, f"masterplan '{body.masterplan_id}' has no atom '{body.atom_id}'")
    sandbox = context.sandbox()
    try:
        await run_in_threadpool(sandbox.start)
        check = await validate_atom_code(context.store, bundle, body.atom_id, body.code, sandbox)
    finally:
        await run_in_threadpool(sandbox.close)
    verdict = check.verdict
    return ValidationView(
        masterplan_id=body.masterplan_id,
        atom_id=body.atom_id,
        passed=verdict.passed,
        issues=[i.model_dump(mode="json") for i in verdict.issues],
        warnings=[w.model_dump(mode="json") for w in verdict.warnings],
    )
