"""``mge review …``: the queue and the reviewer's actions, registered by ``add_commands``.

Exit codes: 0 done, 2 refused (one line on stderr naming the entry and what is wrong, nothing
changed).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from mge_pipeline import settings
from mge_pipeline.domain import AttemptRecord
from mge_pipeline.domain.review import ReviewEntry
from mge_pipeline.exceptions import MgeError
from mge_pipeline.execution.review_edit import edit, plan_bundle_for
from mge_pipeline.generation import LLMProvider
from mge_pipeline.review.actions import ReviewAction, ReviewStatus
from mge_pipeline.review.assistant import alternatives, find_issues
from mge_pipeline.review.service import (
    ReviewRefusedError,
    act,
    load_entry,
    next_for_reviewer,
)
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository

EXIT_OK, EXIT_REFUSED = 0, 2


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    review = commands.add_parser("review", help="the human review queue and its decisions")
    actions = review.add_subparsers(dest="review_command", required=True)

    listing = actions.add_parser("list", help="entries by priority, then lowest confidence")
    listing.add_argument("masterplan_id", nargs="?")
    listing.add_argument("--status", choices=[s.value for s in ReviewStatus], default=None)
    listing.add_argument("--stats", action="store_true", help="counts per status and level")
    listing.set_defaults(handler=_list)

    show = actions.add_parser("show", help="everything a reviewer needs about one entry")
    show.add_argument("entry_id", type=int)
    show.add_argument(
        "--explain", action="store_true", help="ask the configured model why it failed"
    )
    show.add_argument(
        "--explain-budget", type=float, default=0.05, help="USD the explanation may cost"
    )
    show.set_defaults(handler=_show)

    for name, help_text in (
        ("assign", "take an entry into review"),
        ("approve", "accept the validated code as it is"),
        ("reject", "refuse the code (feedback required)"),
        ("regenerate", "generate the atom again with your feedback in its prompt"),
    ):
        parser = actions.add_parser(name, help=help_text)
        parser.add_argument("entry_id", type=int)
        parser.add_argument("--reviewer", default=None, help="default: $MGE_REVIEWER or login")
        if name != "assign":
            parser.add_argument("--feedback", default=None)
        parser.set_defaults(handler=_decide, action=ReviewAction(name))

    edited = actions.add_parser("edit", help="replace the code; it is validated like an attempt")
    edited.add_argument("entry_id", type=int)
    edited.add_argument("--file", type=Path, required=True, help="the corrected code")
    edited.add_argument("--reviewer", default=None)
    edited.add_argument("--feedback", default=None)
    edited.add_argument(
        "--allow-weak-sandbox",
        action="store_true",
        help="without bubblewrap, validate under a Python-level guard the code can escape",
    )
    edited.set_defaults(handler=_edit)

    following = actions.add_parser("next", help="the next entry for you, assigned to you")
    following.add_argument("masterplan_id", nargs="?")
    following.add_argument("--reviewer", default=None)
    following.set_defaults(handler=_next)


def _open() -> tuple[MgeStore, ReviewRepository]:
    settings.mge_home().mkdir(parents=True, exist_ok=True)
    store = MgeStore(settings.database_url())
    return store, ReviewRepository(store)


def _refused(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_REFUSED


def _reviewer(args: argparse.Namespace) -> str:
    return str(args.reviewer or settings.reviewer_name())


def _list(args: argparse.Namespace) -> int:
    store, reviews = _open()
    try:
        statuses = [ReviewStatus(args.status)] if args.status else None
        entries = reviews.entries(args.masterplan_id, statuses=statuses)
        if not entries:
            print(
                "the review queue is empty"
                + (f" for {args.masterplan_id}" if args.masterplan_id else "")
            )
        else:
            rows = [
                (
                    "id",
                    "masterplan",
                    "atom",
                    "status",
                    "priority",
                    "confidence",
                    "assignee",
                    "reason",
                )
            ]
            rows += [
                (
                    str(e.entry_id),
                    e.masterplan_id,
                    e.atom_id,
                    e.status,
                    str(e.priority),
                    f"{e.confidence:.2f} {e.confidence_level}",
                    e.assignee or "-",
                    (e.reasons[0] if e.reasons else "-")[:60],
                )
                for e in entries
            ]
            _print_table(rows)
        if args.stats:
            for plan_id in sorted({e.masterplan_id for e in entries}):
                stats = reviews.statistics(plan_id)
                mean = f"{stats.mean_confidence:.2f}" if stats.mean_confidence is not None else "-"
                by_status = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_status.items()))
                by_level = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_level.items()))
                print(
                    f"{plan_id}: {stats.total} entries ({by_status}); levels: {by_level}; "
                    f"mean confidence {mean}"
                )
        return EXIT_OK
    except MgeError as exc:
        return _refused(str(exc))
    finally:
        store.dispose()


def _decide(args: argparse.Namespace) -> int:
    store, reviews = _open()
    try:
        entry = act(
            reviews,
            args.entry_id,
            args.action,
            _reviewer(args),
            feedback=getattr(args, "feedback", None),
        )
    except MgeError as exc:
        return _refused(str(exc))
    finally:
        store.dispose()
    print(_decided_line(entry))
    return EXIT_OK


def _decided_line(entry: ReviewEntry) -> str:
    who = entry.decided_by or entry.assignee
    follow = {
        ReviewStatus.REGENERATING: "; the review sensor will run the masterplan again",
        ReviewStatus.EDITED: "; the review sensor will run the masterplan with it",
    }.get(ReviewStatus(entry.status), "")
    return f"review entry {entry.entry_id} ({entry.atom_id}): {entry.status} by {who}{follow}"


def _edit(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        return _refused(f"review entry {args.entry_id}: {path} is not a readable file")
    code = path.read_text(encoding="utf-8", errors="replace")
    store, reviews = _open()
    from mge_pipeline.validation import PythonSandbox

    sandbox = PythonSandbox(
        allow_weak=args.allow_weak_sandbox, read_only_paths=settings.sandbox_read_only_paths()
    )
    try:
        sandbox.start()
        entry = asyncio.run(
            edit(
                store,
                reviews,
                args.entry_id,
                _reviewer(args),
                code,
                sandbox,
                feedback=args.feedback,
            )
        )
    except MgeError as exc:
        return _refused(str(exc))
    finally:
        sandbox.close()
        store.dispose()
    print(_decided_line(entry) + " (validated in the sandbox)")
    return EXIT_OK


def _next(args: argparse.Namespace) -> int:
    store, reviews = _open()
    try:
        entry = next_for_reviewer(reviews, _reviewer(args), args.masterplan_id)
    except MgeError as exc:
        return _refused(str(exc))
    finally:
        store.dispose()
    if entry is None:
        print("nothing is pending")
        return EXIT_OK
    print(_decided_line(entry))
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    store, reviews = _open()
    try:
        entry = load_entry(reviews, args.entry_id)
        print("\n".join(show_lines(store, reviews, entry)))
        if args.explain:
            print("\n".join(_explanation(store, entry, args.explain_budget)))
        return EXIT_OK
    except MgeError as exc:
        return _refused(str(exc))
    finally:
        store.dispose()


def show_lines(store: MgeStore, reviews: ReviewRepository, entry: ReviewEntry) -> list[str]:
    """Spec, code, diff against the previous attempt, issues, findings, attempts, decisions."""
    attempts = [a for a in store.attempts(entry.execution_id) if a.atom_id == entry.atom_id]
    results = store.atom_results(entry.execution_id, [entry.atom_id])
    final = entry.code or (results[0].code if results else None)
    info = store.execution_info(entry.execution_id)
    lines = [
        f"review entry {entry.entry_id}: atom {entry.atom_id} of {entry.masterplan_id}",
        f"status {entry.status}; atom {entry.atom_status} in execution {entry.execution_id}",
        f"confidence {entry.confidence:.2f} ({entry.confidence_level}), priority {entry.priority}",
    ]
    lines += [f"  - {reason}" for reason in entry.reasons]
    if entry.assignee or entry.feedback:
        lines.append(f"assignee {entry.assignee or '-'}; feedback: {entry.feedback or '-'}")
    language = "python"
    try:
        atom = plan_bundle_for(store, entry).atoms[entry.atom_id]
        language = atom.language.value
        lines += ["", "spec:", f"  {atom.signature}", f"  {atom.description}", "  tests:"]
        lines += [f"    {line}" for line in atom.tests.strip().splitlines()]
    except ReviewRefusedError as exc:
        lines += ["", f"spec: unavailable ({exc})"]
    lines += ["", "code:" if final else "code: none was produced"]
    lines += [f"  {line}" for line in (final or "").splitlines()]
    lines += ["", *_diff_lines(attempts, final)]
    last = attempts[-1] if attempts else None
    lines += [
        "",
        "validation issues:"
        if last and (last.errors or last.warnings)
        else "validation issues: none",
    ]
    if last:
        lines += [f"  error: {e}" for e in last.errors] + [f"  warning: {w}" for w in last.warnings]
    findings = find_issues(final or "", language)
    lines += ["", f"assistant findings: {len(findings)}"]
    for finding in findings:
        lines += [
            f"  line {finding.line} [{finding.rule}] {finding.message}",
            f"    before: {finding.before.strip()}",
            f"    after:  {finding.after.strip()}",
        ]
    model = info.model if info else "?"
    lines += ["", f"attempts ({len(attempts)}, model {model}):"]
    for attempt in attempts:
        outcome = "passed" if attempt.passed else f"failed [{attempt.error_category}]"
        lines.append(
            f"  #{attempt.attempt_number} {_setting(attempt)}: {outcome} ${attempt.cost_usd:.4f}"
        )
        lines += [f"      {error}" for error in attempt.errors[:3]]
    others = alternatives(attempts, final)
    if others:
        lines += ["", f"alternatives from other attempts: {len(others)}"]
        for alternative in others:
            state = "passed" if alternative.passed else "failed"
            lines.append(f"  attempt #{alternative.attempt_number} ({state}):")
            lines += [f"    {line}" for line in alternative.code.splitlines()]
    decisions = reviews.decisions(entry.entry_id)
    if decisions:
        lines += ["", "decisions:"]
        for decision in decisions:
            when = decision.decided_at.isoformat(timespec="seconds") if decision.decided_at else "?"
            note = f": {decision.feedback}" if decision.feedback else ""
            change = f"{decision.from_status} → {decision.to_status}"
            lines.append(f"  {when} {decision.reviewer} {decision.action} ({change}){note}")
    if entry.applied_execution_id:
        lines.append(f"carried out by execution {entry.applied_execution_id}")
    return lines


def _diff_lines(attempts: Sequence[AttemptRecord], final: str | None) -> list[str]:
    with_code = [a for a in attempts if a.code]
    previous = next((a for a in reversed(with_code) if a.code != final), None)
    if previous is None or final is None:
        return ["diff against the previous attempt: no earlier attempt with other code"]
    diff = difflib.unified_diff(
        (previous.code or "").splitlines(),
        final.splitlines(),
        f"attempt {previous.attempt_number}",
        "under review",
        lineterm="",
    )
    return ["diff against the previous attempt:", *[f"  {line}" for line in diff]]


def _explanation(store: MgeStore, entry: ReviewEntry, budget_usd: float) -> list[str]:
    from mge_pipeline.generation import price_for
    from mge_pipeline.review.explain import explain_failure

    provider = _provider()
    bundle = plan_bundle_for(store, entry)
    attempts = [a for a in store.attempts(entry.execution_id) if a.atom_id == entry.atom_id]
    errors = attempts[-1].errors if attempts else []
    code = entry.code or next((a.code for a in reversed(attempts) if a.code), None)
    explanation = asyncio.run(
        explain_failure(
            provider,
            price_for(provider.model),
            bundle.atoms[entry.atom_id],
            code,
            errors,
            budget_usd=budget_usd,
        )
    )
    if explanation.text is None:
        return ["", f"explanation: none — {explanation.declined}"]
    return [
        "",
        f"explanation by {provider.model} (${explanation.cost_usd:.4f}):",
        *[f"  {line}" for line in explanation.text.splitlines()],
    ]


def _provider() -> LLMProvider:
    from mge_pipeline.generation.simulated import SimulatedModel

    if settings.provider_name() != "anthropic":
        return SimulatedModel()
    from mge_pipeline.generation.anthropic_provider import AnthropicProvider

    return AnthropicProvider(
        api_key=settings.anthropic_api_key(),
        model=settings.model_name(),
        base_url=settings.anthropic_base_url(),
    )


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _setting(attempt: AttemptRecord) -> str:
    """Model, effort and temperature, as far as the attempt used them."""
    parts = [attempt.model or ""]
    if attempt.effort:
        parts.append(f"effort {attempt.effort}")
    if attempt.temperature is not None:
        parts.append(f"temperature {attempt.temperature:.1f}")
    return ", ".join(part for part in parts if part) or "default settings"
