"""Bearer tokens with scopes: who may read, who may decide reviews, who may operate runs.

Tokens come from ``MGE_API_TOKENS`` / ``MGE_API_TOKENS_FILE`` (``settings.py``) as
``name:token:scope+scope`` entries. ``review`` and ``operate`` include ``read``. The name is
who a review decision is recorded as, so a token cannot decide in somebody else's name. A
missing or unknown token is 401, a known token without the scope 403; both are answered
before the handler runs, so nothing is changed. The review page sends the same token in an
HttpOnly, SameSite=Strict cookie set by its sign-in form.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request

from mge_pipeline.api.errors import ApiError

__all__ = ["COOKIE", "Principal", "Scope", "TokenTable", "parse_tokens"]

COOKIE = "mge_token"
MIN_TOKEN_LENGTH = 16


class Scope(StrEnum):
    READ = "read"
    REVIEW = "review"
    OPERATE = "operate"


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[Scope]


@dataclass(frozen=True)
class TokenTable:
    by_token: dict[str, Principal]

    def find(self, token: str) -> Principal | None:
        """Compared in constant time, so a guess learns nothing from the timing."""
        found = None
        for known, principal in self.by_token.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = principal
        return found


def parse_tokens(entries: Sequence[str]) -> TokenTable:
    """Raises ValueError with one line per bad entry (the token itself never shown)."""
    problems: list[str] = []
    table: dict[str, Principal] = {}
    for number, entry in enumerate(entries, start=1):
        parts = entry.split(":")
        if len(parts) != 3 or not parts[0].strip():
            problems.append(f"API token entry {number}: expected name:token:scope+scope")
            continue
        name, token, scope_text = (part.strip() for part in parts)
        if len(token) < MIN_TOKEN_LENGTH:
            problems.append(
                f"API token entry {number} ({name}): the token is shorter than "
                f"{MIN_TOKEN_LENGTH} characters"
            )
        wrong = [s for s in scope_text.split("+") if s not in set(Scope)]
        if wrong or not scope_text:
            problems.append(
                f"API token entry {number} ({name}): unknown scope(s) {', '.join(wrong) or '-'}"
                f" (known: {', '.join(Scope)})"
            )
            continue
        scopes = {Scope(s) for s in scope_text.split("+")}
        if scopes & {Scope.REVIEW, Scope.OPERATE}:
            scopes.add(Scope.READ)
        table[token] = Principal(name=name, scopes=frozenset(scopes))
    if problems:
        raise ValueError("\n".join(problems))
    return TokenTable(table)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def authenticate(request: Request, scope: Scope, *, cookie: bool) -> Principal:
    tokens: TokenTable = request.app.state.context.tokens
    token = _bearer(request) or (request.cookies.get(COOKIE) if cookie else None)
    challenge = {"WWW-Authenticate": "Bearer"}
    if not token:
        raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)", challenge)
    principal = tokens.find(token)
    if principal is None:
        raise ApiError(401, "unknown bearer token", challenge)
    if scope not in principal.scopes:
        raise ApiError(403, f"token '{principal.name}' lacks the '{scope}' scope")
    return principal


def require(scope: Scope) -> Callable[[Request], Principal]:
    """A dependency for the JSON API: the bearer header only (no cookie, so no CSRF)."""

    def dependency(request: Request) -> Principal:
        return authenticate(request, scope, cookie=False)

    return dependency
