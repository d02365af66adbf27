"""The README's first steps, run as written against a server started the way `make run` starts one."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import ROOT, Stack, embedded_stack, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

TOUR_MARKER = "<!-- newcomer-tour:"
README_BASE_URL = "http://127.0.0.1:8000"


def tour_block() -> list[str]:
    """The shell lines of the README's marked block, continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    start = text.index(TOUR_MARKER)
    block = text[start:].split("```sh\n", 1)[1].split("```", 1)[0]
    return block.replace("\\\n", " ").splitlines()


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Stack, str, str]]:
    """An embedded server on a free port, seeded like `make run` seeds it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with embedded_stack() as stack:
        printed = stack.manage("seed_demo", "--base-url", base)
        stack.start_web(port=port)
        yield stack, base, printed


def shim_dir(tmp_path: Path) -> Path:
    """A `dealstream` command running this checkout's client, as `pip install ./client` gives."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "dealstream"
    command.write_text(
        f'#!/bin/sh\nPYTHONPATH="{ROOT / "client" / "src"}" exec "{sys.executable}" -m dealstream "$@"\n'
    )
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def test_it_runs_the_first_steps_as_written(served: tuple[Stack, str, str], tmp_path: Path) -> None:
    stack, base, printed = served
    key_file = Path(stack.env["MEDIA_ROOT"]) / "demo-api-key"
    key = key_file.read_text().strip()
    assert f"API key      : {key}" in printed
    bin_dir = shim_dir(tmp_path)
    lines = []
    for line in tour_block():
        if line.startswith(".venv/bin/pip install"):
            continue  # the shim below stands for the installed command
        lines.append(
            line.replace(README_BASE_URL, base)
            .replace("media/demo-api-key", str(key_file))
            .replace("$PWD/.venv/bin", str(bin_dir))
        )
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALSTREAM_")}
    result = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    out = result.stdout
    # deals list: the seeded deal, scored and waiting for a decision.
    assert re.search(r"^\s+1\s+under_review\s+\d+\.\d\s+60000\.00\s+Bolt Logistics LLC$", out, re.M), out
    # deals show 1: its two processed statements and the pipeline's proposal.
    assert "statement 1: bolt-checking-2026-09.csv (completed)" in out
    assert "statement 2: bolt-checking-2026-10.ofx (completed)" in out
    assert re.search(r"proposal ch_\w+: approved", out)
    # deals create, then the CLI upload, its score; the curl upload's 202 body.
    assert "Deal 2 (Joe's Pizza): health score n/a, status new" in out
    assert re.search(r"bolt-checking-2026-09\.csv\s+\[#+\] 100%\s+completed", out)
    assert re.search(r'"statement_id":\s*\d+,\s*"job_id":\s*"job_\w+"', out)
    # deals decide: the decision, with who and why.
    assert "decision: declined by api_key:demo: Too many lenders" in out
    deal = httpx.get(f"{base}/api/v1/deals/2", headers={"Authorization": f"Bearer {key}"}).json()
    assert deal["status"] == "declined"
    assert sorted(s["filename"] for s in deal["statements"]) == [
        "bolt-checking-2026-09.csv",
        "bolt-checking-2026-10.ofx",
    ]


def test_it_uploads_the_card_sample(served: tuple[Stack, str, str]) -> None:
    stack, base, _ = served
    key = (Path(stack.env["MEDIA_ROOT"]) / "demo-api-key").read_text().strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALSTREAM_")}
    env.update(DEALSTREAM_API_KEY=key, DEALSTREAM_BASE_URL=base, PYTHONPATH=str(ROOT / "client" / "src"))
    created = subprocess.run(
        [sys.executable, "-m", "dealstream", "deals", "create", "Card Test", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    deal_id = re.search(r'"id": (\d+)', created.stdout)
    assert deal_id, created.stdout
    uploaded = subprocess.run(
        [sys.executable, "-m", "dealstream", "upload", deal_id.group(1), "samples/bolt-card-2026-10.csv"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    assert re.search(r"bolt-card-2026-10\.csv\s+\[#+\] 100%\s+completed", uploaded.stdout)
