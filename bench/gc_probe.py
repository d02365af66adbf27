"""Run uvicorn with a hook that logs every slow garbage collection (a benchmark diagnostic).

python -m bench.gc_probe config.asgi:application --port 8000 ...   (uvicorn's arguments)
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

SLOW_SECONDS = 0.01
_started: dict[int, float] = {}


def _hook(phase: str, info: dict[str, Any]) -> None:
    generation = int(info["generation"])
    if phase == "start":
        _started[generation] = time.perf_counter()
        return
    took = time.perf_counter() - _started.pop(generation, time.perf_counter())
    if took >= SLOW_SECONDS:
        print(
            f"gc_probe generation={generation} seconds={took:.3f} collected={info['collected']} "
            f"objects={len(gc.get_objects()) if generation == 2 else '-'}",
            file=sys.stderr,
            flush=True,
        )


def _freeze_every(seconds: float) -> None:
    while True:
        time.sleep(seconds)
        gc.freeze()


if __name__ == "__main__":
    import os
    import threading

    import uvicorn.main

    gc.callbacks.append(_hook)
    if os.environ.get("GC_PROBE_THRESHOLD"):
        gc.set_threshold(*(int(v) for v in os.environ["GC_PROBE_THRESHOLD"].split(",")))
    if os.environ.get("GC_PROBE_FREEZE_SECONDS"):
        period = float(os.environ["GC_PROBE_FREEZE_SECONDS"])
        threading.Thread(target=_freeze_every, args=(period,), daemon=True).start()
    sys.argv = ["uvicorn", *sys.argv[1:]]
    uvicorn.main.main()
