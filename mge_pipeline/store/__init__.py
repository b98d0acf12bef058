"""The store: SQLAlchemy tables, the repository over them and its async facade."""

from mge_pipeline.store.async_store import AsyncStore
from mge_pipeline.store.repository import MASTERPLAN_DRAFT, MASTERPLAN_READY, MgeStore

__all__ = ["MASTERPLAN_DRAFT", "MASTERPLAN_READY", "AsyncStore", "MgeStore"]
