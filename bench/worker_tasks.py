"""The benchmark's publisher run by a real Celery worker, as the pipelines publish.

The worker loads this module on top of the product's tasks:

    celery -A config worker --include bench.worker_tasks -P solo

and `python -m bench.worker_tasks <bench.publisher options>` hands it one burst, waits for
it to finish and prints the publisher's JSON line (the same as `python -m bench.publisher`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from config.celery import app  # also chooses the settings module

TASK_NAME = "bench.publish_burst"
#: A burst is at most a few minutes; past this the worker is presumed gone.
WAIT_SECONDS = 600


@app.task(name=TASK_NAME)
def publish_burst(argv: list[str], result_path: str) -> None:
    from bench.publisher import parse
    from bench.publisher import publish_burst as run

    result = run(parse(argv))
    # Results are disabled in this project's Celery configuration: the sender reads a file,
    # renamed into place so that it never sees half of it.
    partial = Path(result_path + ".partial")
    partial.write_text(json.dumps(result))
    partial.replace(result_path)


def send(argv: list[str]) -> dict[str, Any]:
    """Queue one burst on the worker and wait for its figures."""
    handle, name = tempfile.mkstemp(prefix="bench-burst-", suffix=".json")
    os.close(handle)
    result_path = Path(name)
    result_path.unlink()
    try:
        app.send_task(TASK_NAME, args=[argv, str(result_path)])
        deadline = time.monotonic() + WAIT_SECONDS
        while not result_path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Celery worker finished the burst within {WAIT_SECONDS} s")
            time.sleep(0.05)
        figures: dict[str, Any] = json.loads(result_path.read_text())
        return figures
    finally:
        result_path.unlink(missing_ok=True)


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(send(sys.argv[1:])), flush=True)
