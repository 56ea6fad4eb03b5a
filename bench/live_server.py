"""What `bench/live.py` serves: `config.asgi`'s application unchanged (or, with `LIVE_BENCH_HANDLER=django`, Django's
own ASGI handler), plus a SIGUSR1 handler for the bench's readings.

On each SIGUSR1 the server collects garbage (so a reading is not of cycles awaiting the collector), then writes
`$LIVE_BENCH_DIR/<n>.json` (n = 1, 2, …): its open live subscriptions, its threads and its resident memory by kind
of mapping (threads' stacks, the [heap], other anonymous memory). With `LIVE_TRACE_FRAMES` set
(`bench/live.py --trace`), allocations are traced from start-up and each reading also writes a tracemalloc snapshot,
`<n>.snapshot`. Never imported by the application itself."""

from __future__ import annotations

import gc
import itertools
import json
import os
import resource
import signal
import threading
import tracemalloc
from pathlib import Path
from types import FrameType

if os.environ.get("LIVE_TRACE_FRAMES"):
    tracemalloc.start(int(os.environ["LIVE_TRACE_FRAMES"]))

from django.core.handlers.asgi import ASGIHandler

from config.asgi import application as atrium_application
from shared_apps.core.live import hub

# `bench/live.py --compare`: Django's own handler, whose requests each keep a thread until their response ends
stock = os.environ.get("LIVE_BENCH_HANDLER") == "django"
application: ASGIHandler = ASGIHandler() if stock else atrium_application

__all__ = ["application"]

_numbers = itertools.count(1)


def _reading(_signum: int, _frame: FrameType | None) -> None:
    gc.collect()
    folder = Path(os.environ["LIVE_BENCH_DIR"])
    number = next(_numbers)
    facts: dict[str, object] = {"subscriptions": hub().count(), "threads": threading.active_count(), **_memory_kinds()}
    if tracemalloc.is_tracing():
        snapshot = str(folder / f"{number}.snapshot")
        tracemalloc.take_snapshot().dump(snapshot)
        facts["snapshot"] = snapshot
    (folder / f"{number}.tmp").write_text(json.dumps(facts))
    (folder / f"{number}.tmp").rename(folder / f"{number}.json")


def _memory_kinds() -> dict[str, int]:
    """Resident KB by kind of mapping: `stacks_kb` (the threads' stacks: anonymous, the default stack size),
    `heap_kb` (the main allocator's [heap]) and `anon_kb` (other anonymous memory: Python's arenas, other threads'
    allocator arenas)."""
    kinds = {"stacks_kb": 0, "heap_kb": 0, "anon_kb": 0}
    stack_kb = threading.stack_size() // 1024 or _default_stack_kb()
    kind, size = None, 0
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:  # a mapping's first line: address, perms, offset, dev, inode[, path]
            path = fields[5] if len(fields) > 5 else ""
            kind = "heap_kb" if path == "[heap]" else "anon_kb" if not path else None
        elif fields[0] == "Size:":
            size = int(fields[1])
        elif fields[0] == "Rss:" and kind is not None:
            kinds["stacks_kb" if kind == "anon_kb" and size == stack_kb else kind] += int(fields[1])
    return kinds


def _default_stack_kb() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_STACK)
    return soft // 1024 if soft > 0 else 8192


signal.signal(signal.SIGUSR1, _reading)
