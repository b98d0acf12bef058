"""SQLAlchemy tables and the repository over them; SQLite by default, any URL by env var."""

from mge_pipeline.store.repository import MASTERPLAN_DRAFT, MASTERPLAN_READY, MgeStore

__all__ = ["MASTERPLAN_DRAFT", "MASTERPLAN_READY", "MgeStore"]
