"""A whole plan's generation as one coroutine, for a job that only learns its plan at run time.

A compiled masterplan job draws one op per atom, which needs the plan when the job is defined.
``mge build`` plans and generates in one Dagster run, so its generation step calls the very
functions those ops wrap (``start_wave``, ``run_atom``, ``close_wave``, ``finalize``) on one
event loop: each wave's atoms run concurrently, each waits on the settlement board for its
own dependencies, the call gate bounds the calls in flight, and every rule is the same.
"""

from __future__ import annotations

import asyncio
import time

from mge_pipeline.execution.finalize import finalize
from mge_pipeline.execution.report import RunReport
from mge_pipeline.execution.run_service import RunServices, close_wave, run_atom, start_wave


async def execute_plan(services: RunServices) -> RunReport:
    """Every wave fanned out at once (as in the compiled job), closed when its atoms settle."""
    started = time.time()
    waves = range(len(services.bundle.waves))
    await asyncio.gather(*(_wave(services, k, started) for k in waves))
    return await finalize(services)


async def _wave(services: RunServices, wave_index: int, started_at: float) -> None:
    to_generate, _cached = await start_wave(services, wave_index)
    await asyncio.gather(*(run_atom(services, atom_id) for atom_id in to_generate))
    await close_wave(services, wave_index, started_at)
