"""Prompts: the shared part first (it can be cached), each atom's own part last."""

from __future__ import annotations

from collections.abc import Sequence

from mge_pipeline.domain import AtomSpec, ErrorCategory, ValidationIssue

SYSTEM_PROMPT = """You are a senior software engineer writing one small, self-contained unit \
of a larger program (an "atom" of about ten lines).
Rules:
- Write exactly the symbol the spec names, with exactly the given signature.
- Put the standard-library imports the code needs at the top of your answer.
- Do not redefine code you are shown from other atoms; use it.
- No I/O, no printing, no global state, unless the spec asks for it.
- Answer with one fenced code block and nothing else."""

CATEGORY_GUIDANCE: dict[ErrorCategory, str] = {
    ErrorCategory.SYNTAX: "The code did not parse. Check brackets, colons and indentation.",
    ErrorCategory.IMPORT: "A name was not defined. Import every module you use at the top.",
    ErrorCategory.TYPE: "A value had the wrong type. Follow the signature's types exactly.",
    ErrorCategory.LOGIC: "The code ran but gave wrong results. Re-read the spec and the tests.",
    ErrorCategory.RUNTIME: "The code raised an exception. Handle the edge cases in the spec.",
    ErrorCategory.TIMEOUT: "The code did not finish in time. Remove endless loops.",
    ErrorCategory.NO_CODE: "No code block was found. Answer with one fenced code block.",
    ErrorCategory.CONTEXT: "The code does not define what the spec requires.",
    ErrorCategory.DEPENDENCY: "A dependency is missing or failed.",
}


def build_prompt(
    atom: AtomSpec,
    *,
    dependency_code: Sequence[str],
    feedback: Sequence[ValidationIssue] = (),
) -> str:
    """Dependencies' code, then the spec, then the last attempt's errors if there was one."""
    sections: list[str] = []
    if atom.context.imports:
        sections.append("Imports available in this module:\n" + "\n".join(atom.context.imports))
    if dependency_code:
        joined = "\n\n".join(dependency_code)
        sections.append(
            f"Code from the atoms this one depends on:\n```{atom.language}\n{joined}\n```"
        )
    sections.append(_spec_section(atom))
    if feedback:
        sections.append(feedback_section(feedback))
    return "\n\n".join(sections)


def _spec_section(atom: AtomSpec) -> str:
    lines = [
        f"Write the {atom.kind} `{atom.name}` in `{atom.file_path}` ({atom.language}).",
        f"Signature: {atom.signature}",
        f"Spec: {atom.description}",
    ]
    if atom.context.parent_scope:
        lines.append(f"It belongs to: {atom.context.parent_scope}")
    if atom.context.notes:
        lines.append(f"Notes: {atom.context.notes}")
    if atom.tests:
        lines.append(f"It must pass these tests:\n```{atom.language}\n{atom.tests.strip()}\n```")
    return "\n".join(lines)


def feedback_section(issues: Sequence[ValidationIssue]) -> str:
    """The previous attempt's validation errors, with guidance for the first category."""
    lines = ["Your previous answer failed validation:"]
    lines += [f"- [{issue.category}] {issue.message}" for issue in issues[:10]]
    guidance = CATEGORY_GUIDANCE.get(issues[0].category)
    if guidance:
        lines.append(guidance)
    lines.append("Write a corrected version.")
    return "\n".join(lines)
