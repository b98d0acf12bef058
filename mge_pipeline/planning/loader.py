"""Reading masterplans from YAML or JSON, with one readable line per problem.

Pydantic's errors name a location like ``phases.0.milestones.1.tasks.0.atoms.3.signature``;
people fix plans faster when the line names the atom by its id, so locations are rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mge_pipeline.domain import MasterPlan
from mge_pipeline.exceptions import MasterPlanError
from mge_pipeline.planning.graph import check_masterplan


def load_masterplan(path: str | Path) -> MasterPlan:
    """Load, validate and check the dependency graph; raise MasterPlanError on any problem."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise MasterPlanError([f"{source}: cannot read: {exc.strerror or exc}"]) from exc
    plan = parse_masterplan(text, name=str(source))
    check_masterplan(plan)
    return plan


def parse_masterplan(text: str, *, name: str = "<masterplan>") -> MasterPlan:
    """Parse YAML (a superset of JSON) into a MasterPlan without graph checks."""
    document = _parse_document(text, name)
    return masterplan_from_document(document, name=name)


def masterplan_from_document(document: Any, *, name: str = "<masterplan>") -> MasterPlan:
    if not isinstance(document, dict):
        raise MasterPlanError(
            [f"{name}: top level must be a mapping, got {type(document).__name__}"]
        )
    try:
        return MasterPlan.model_validate(document)
    except ValidationError as exc:
        raise MasterPlanError(
            [_describe_error(document, error, name) for error in exc.errors()]
        ) from exc


def _parse_document(text: str, name: str) -> Any:
    if name.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise MasterPlanError(
                [f"{name}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"]
            ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MasterPlanError([f"{name}: {where}invalid YAML: {problem}"]) from exc


def _describe_error(document: Any, error: Any, name: str) -> str:
    location = _readable_location(document, tuple(error["loc"]))
    return f"{name}: {location}: {error['msg']}"


def _readable_location(document: Any, loc: tuple[Any, ...]) -> str:
    """('phases', 0, …, 'atoms', 5, 'tests') → "atom 'X' field 'tests'"."""
    node = document
    owner = ""
    trail: list[str] = []
    for index, key in enumerate(loc):
        kind = str(loc[index - 1]) if index else ""
        node = node[key] if _can_index(node, key) else None
        if isinstance(key, int) and kind in {"phases", "milestones", "tasks", "atoms"}:
            label = kind[:-1]
            ident = node.get("id") if isinstance(node, dict) else None
            owner = f"{label} '{ident}'" if ident else f"{label} #{key + 1}"
            trail = []
        elif kind not in {"phases", "milestones", "tasks", "atoms"} or not isinstance(key, int):
            trail.append(str(key))
    field = ".".join(trail)
    if owner and field:
        return f"{owner} field '{field}'"
    return owner or (f"field '{field}'" if field else "document")


def _can_index(node: Any, key: Any) -> bool:
    if isinstance(node, dict):
        return key in node
    if isinstance(node, list) and isinstance(key, int):
        return 0 <= key < len(node)
    return False
