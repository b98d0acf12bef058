"""Writing a run's output directory whole or not at all: build beside it, then swap."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def write_output(target: Path, files: dict[str, str]) -> list[str]:
    """Write beside ``target`` and rename over it, so readers never see half a tree."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        if target.exists():
            backup = target.with_name(f".{target.name}-old")
            shutil.rmtree(backup, ignore_errors=True)
            target.rename(backup)
            staging.rename(target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(files)
