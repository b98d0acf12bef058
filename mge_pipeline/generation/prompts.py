"""Prompts built for prompt caching: what many atoms share first, each atom's own part last.

The system turn is two cacheable blocks: the instructions plus the project context (the same
for every atom of a plan) and the file context (the same for every atom of a file). The user
turn holds what only this atom needs: its spec, its direct dependencies' code and, on a retry,
the previous attempt's errors. With ``cache_control`` on both system blocks, every atom after
the first reads the shared prefix at a tenth of the input price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mge_pipeline.domain import AtomSpec, ErrorCategory, MasterPlan, ValidationIssue
from mge_pipeline.generation.pricing import estimate_tokens

SYSTEM_PROMPT = """You are a senior software engineer writing one small, self-contained unit \
of a larger program (an "atom" of about ten lines).
Rules:
- Write exactly the symbol the spec names, with exactly the given signature.
- Put the standard-library imports the code needs at the top of your answer.
- Do not redefine code you are shown from other atoms; use it.
- Keep it simple: about the target number of lines, cyclomatic complexity under 3 where possible.
- No I/O, no printing, no global state, unless the spec asks for it.
- Answer with one fenced code block and nothing else."""

DEFAULT_DEPENDENCY_TOKEN_BUDGET = 6000

CATEGORY_GUIDANCE: dict[ErrorCategory, str] = {
    ErrorCategory.SYNTAX: "The code did not parse. Check brackets, colons and indentation.",
    ErrorCategory.IMPORT: "A name was not defined. Import every module you use at the top.",
    ErrorCategory.TYPE: "A value had the wrong type. Follow the signature's types exactly.",
    ErrorCategory.LOGIC: "The code ran but gave wrong results. Re-read the spec and the tests.",
    ErrorCategory.RUNTIME: "The code raised an exception. Handle the edge cases in the spec.",
    ErrorCategory.TIMEOUT: "The code did not finish in time. Remove endless loops and recursion.",
    ErrorCategory.NO_CODE: "No usable code was found. Answer with one fenced code block.",
    ErrorCategory.CONTEXT: "The code does not define what the spec requires, as it requires.",
    ErrorCategory.DEPENDENCY: "Use the dependencies exactly as shown; do not redefine them.",
}


@dataclass(frozen=True)
class PromptBlock:
    text: str
    cache: bool = False


@dataclass(frozen=True)
class DependencyContext:
    """A direct dependency as the prompt shows it: full code, or its signature if over budget."""

    atom: AtomSpec
    code: str


def project_context(plan: MasterPlan) -> str:
    """Every file and the public signature of every atom: identical for all atoms of a plan."""
    lines = [f"Project: {plan.name}", plan.description.strip(), "", "Files and their atoms:"]
    by_file: dict[str, list[AtomSpec]] = {}
    for atom in plan.atoms():
        by_file.setdefault(atom.file_path, []).append(atom)
    for path, atoms in by_file.items():
        lines.append(f"- {path}")
        lines += [
            f"    {atom.signature}  # {atom.description.splitlines()[0][:100]}" for atom in atoms
        ]
    return "\n".join(line for line in lines if line is not None)


def file_context(plan: MasterPlan, file_path: str) -> str:
    """The module an atom goes into: its imports and its atoms' specs."""
    atoms = [atom for atom in plan.atoms() if atom.file_path == file_path]
    imports = sorted({statement for atom in atoms for statement in atom.context.imports})
    lines = [f"Module {file_path} ({atoms[0].language if atoms else 'python'})."]
    if imports:
        lines += ["Its imports:", *imports]
    lines.append("Its atoms:")
    lines += [f"- {atom.signature} — {atom.description}" for atom in atoms]
    return "\n".join(lines)


def system_blocks(project: str, module: str, *, cache: bool) -> tuple[PromptBlock, ...]:
    return (
        PromptBlock(f"{SYSTEM_PROMPT}\n\n{project}", cache=cache),
        PromptBlock(module, cache=cache),
    )


def build_prompt(
    atom: AtomSpec,
    *,
    dependencies: Sequence[DependencyContext],
    feedback: Sequence[ValidationIssue] = (),
    dependency_token_budget: int = DEFAULT_DEPENDENCY_TOKEN_BUDGET,
    reviewer_feedback: str | None = None,
) -> str:
    """The atom's own part: spec, direct dependencies within a token budget, a reviewer's
    feedback when a person asked for the atom again, last errors."""
    sections = [_spec_section(atom)]
    shown = dependency_section(atom, dependencies, dependency_token_budget)
    if shown:
        sections.append(shown)
    if reviewer_feedback:
        sections.append(reviewer_section(reviewer_feedback))
    if feedback:
        sections.append(feedback_section(feedback))
    return "\n\n".join(sections)


def dependency_section(
    atom: AtomSpec, dependencies: Sequence[DependencyContext], budget: int
) -> str:
    """Direct dependencies' code while it fits the budget; signatures for the rest."""
    code_parts: list[str] = []
    signatures: list[str] = []
    used = 0
    for dependency in dependencies:
        cost = estimate_tokens(dependency.code)
        if used + cost <= budget:
            code_parts.append(dependency.code.strip())
            used += cost
        else:
            signatures.append(f"{dependency.atom.signature}  # in {dependency.atom.file_path}")
    parts = []
    if code_parts:
        joined = "\n\n".join(code_parts)
        parts.append(f"Code of the atoms this one uses:\n```{atom.language}\n{joined}\n```")
    if signatures:
        parts.append("Also available (signatures only):\n" + "\n".join(signatures))
    return "\n\n".join(parts)


def _spec_section(atom: AtomSpec) -> str:
    lines = [
        f"Write the {atom.kind} `{atom.name}` in `{atom.file_path}` ({atom.language}).",
        f"Signature: {atom.signature}",
        f"Spec: {atom.description}",
        f"Target size: about {atom.estimated_loc} lines.",
    ]
    if atom.context.parent_scope:
        lines.append(f"It is a member of: {atom.context.parent_scope}")
    if atom.context.imports:
        lines.append("Available imports: " + "; ".join(atom.context.imports))
    if atom.context.notes:
        lines.append(f"Notes: {atom.context.notes}")
    if atom.tests:
        lines.append(
            f"Requirements, as tests it must pass:\n```{atom.language}\n{atom.tests.strip()}\n```"
        )
    return "\n".join(lines)


def reviewer_section(feedback: str) -> str:
    """A person reviewed an earlier version of this atom and asked for it again."""
    return (
        "A human reviewer rejected an earlier version of this atom and asked for it again:\n"
        f"{feedback.strip()}\nFollow the reviewer's feedback."
    )


def feedback_section(issues: Sequence[ValidationIssue]) -> str:
    """The previous attempt's errors by category, with guidance for each category present."""
    lines = ["Your previous answer failed validation:"]
    lines += [f"- [{issue.category}] {issue.message}" for issue in issues[:10]]
    categories = list(dict.fromkeys(issue.category for issue in issues))
    lines += [CATEGORY_GUIDANCE[c] for c in categories if c in CATEGORY_GUIDANCE]
    lines.append("Write a corrected version.")
    return "\n".join(lines)
