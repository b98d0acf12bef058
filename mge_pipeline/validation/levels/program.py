"""The JavaScript/TypeScript program of the assembled output, checked once for all levels.

Atoms are checked in projects of the files assembled so far; the levels check the whole: the
TypeScript compiler over every assembled file (the plan's ``tsconfig.json`` when it has one),
then every module loaded under Node. It runs once per validation; each level reports the
findings that fall in its own atoms' files, the masterplan all of them, so a run whose output
does not compile never completes as passed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from mge_pipeline.domain import ErrorCategory, Language, LevelIssue, Severity
from mge_pipeline.validation.levels.context import LevelContext, issue
from mge_pipeline.validation.node_project import has_project_sources, project_argv
from mge_pipeline.validation.node_validator import NODE_HEAP_MB, find_typescript, which_node
from mge_pipeline.validation.sandbox import SandboxOutcome

PROGRAM = "program"
PROGRAM_TIMEOUT_SECONDS = 120.0
_DIAGNOSTIC = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+) error (?P<code>TS\d+): (?P<text>.*)$")
_MODULE = re.compile(r"^module (?P<path>[^\s:]+): (?P<text>.*)$")


class NodeCommandRunner(Protocol):
    async def run_command(
        self,
        files: dict[str, str],
        argv: list[str],
        *,
        timeout_seconds: float = ...,
        limit_address_space: bool = ...,
    ) -> SandboxOutcome: ...


@dataclass(frozen=True)
class ProgramFinding:
    """One compiler diagnostic or module that failed to load; ``path`` None for the whole."""

    path: str | None
    category: ErrorCategory
    message: str
    severity: Severity = Severity.ERROR


def node_files(context: LevelContext) -> dict[str, str]:
    """The assembled files plus the plan's project files (everything not Python)."""
    return {path: text for path, text in context.files.items() if not path.endswith(".py")}


def plan_uses_node(context: LevelContext) -> bool:
    return any(a.language is not Language.PYTHON for a in context.atoms.values())


async def check_program(
    files: Mapping[str, str], runner: NodeCommandRunner
) -> list[ProgramFinding]:
    if not has_project_sources(files):
        return []
    node, typescript = which_node(), find_typescript()
    if node is None or typescript is None:
        what = "Node.js" if node is None else "the TypeScript compiler"
        message = f"the assembled JavaScript/TypeScript was not checked: {what} is not installed"
        return [ProgramFinding(None, ErrorCategory.UNAVAILABLE, message, Severity.WARNING)]
    staged, argv = project_argv(node, NODE_HEAP_MB, typescript, files, None)
    outcome = await runner.run_command(
        staged, argv, timeout_seconds=PROGRAM_TIMEOUT_SECONDS, limit_address_space=False
    )
    return findings_from(outcome)


def findings_from(outcome: SandboxOutcome) -> list[ProgramFinding]:
    if outcome.timed_out:
        return [ProgramFinding(None, ErrorCategory.TIMEOUT, "checking the program timed out")]
    if outcome.returncode == 0:
        return []
    found: list[ProgramFinding] = []
    for line in outcome.stderr_tail.splitlines():
        line = line.strip()
        if diagnostic := _DIAGNOSTIC.match(line):
            category = (
                ErrorCategory.SYNTAX
                if diagnostic["code"].startswith("TS1")
                else (ErrorCategory.TYPE)
            )
            found.append(ProgramFinding(diagnostic["path"], category, line[:400]))
        elif loaded := _MODULE.match(line):
            found.append(ProgramFinding(loaded["path"], ErrorCategory.IMPORT, line[:400]))
    if not found:
        tail = " ".join(outcome.stderr_tail.strip().splitlines()[-3:])[-400:]
        message = f"checking the program exited {outcome.returncode}: {tail}"
        found.append(ProgramFinding(None, ErrorCategory.RUNTIME, message))
    return found


def program_issues(
    context: LevelContext, findings: list[ProgramFinding], atom_ids: list[str] | None
) -> list[LevelIssue]:
    """The findings in the files of ``atom_ids`` (all findings when None), naming their atoms."""
    among = list(context.atoms) if atom_ids is None else atom_ids
    by_file = context.atoms_by_file(among)
    issues = []
    for finding in findings:
        if finding.path is None:
            implicated = among if atom_ids is None else []
            if atom_ids is not None:
                continue
        elif finding.path in by_file:
            implicated = by_file[finding.path]
        elif atom_ids is None:
            implicated = []
        else:
            continue
        issues.append(
            issue(finding.severity, finding.category, PROGRAM, finding.message, implicated)
        )
    return issues
