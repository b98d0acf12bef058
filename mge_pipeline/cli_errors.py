"""How the CLI ends on an operational failure: one line on stderr and an exit code.

A user who mistypes a database or GraphQL URL, or lacks a tool, needs the thing and what is
wrong with it, not 120 lines of traceback; ``--verbose`` brings the traceback back. Bugs (any
exception not recognised here) keep their traceback: hiding them would hide the fix.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from mge_pipeline.exceptions import MgeError

EXIT_UNAVAILABLE = 3
"""A database, API or tool the command needs cannot be used; nothing was changed."""
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, what a shell reports for a command whose reader went away (``| head``)."""


def operational_message(exc: BaseException) -> str | None:
    """The one line for an operational failure, or None for anything else (a bug)."""
    if isinstance(exc, MgeError):
        return _first_line(str(exc))
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: not found ({exc.strerror or 'no such file'}); is it installed?"
    if isinstance(exc, PermissionError) and exc.filename:
        return f"{exc.filename}: permission denied"
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:  # pragma: no cover - sqlalchemy is a dependency
        return None
    if isinstance(exc, SQLAlchemyError):
        return f"database: {_first_line(str(getattr(exc, 'orig', None) or exc))}"
    return None


def run_guarded(handler: Callable[[], int], *, verbose: bool) -> int:
    """Runs one command; an operational failure becomes one line and EXIT_UNAVAILABLE."""
    try:
        return handler()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        message = operational_message(exc)
        if message is None:
            raise
        if verbose:
            traceback.print_exc()
        print(f"error: {message}", file=sys.stderr)
        return EXIT_UNAVAILABLE


def _silence_stdout() -> None:
    """The reader is gone: later writes (and the interpreter's final flush) go nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"
