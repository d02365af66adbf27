"""The job edge points one way (docs/architecture.md, "The job edge"): `jobs` imports no app that
runs jobs, and the pipelines and their tasks use only the handle (and the `JobTask` base)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
APPS_THAT_RUN_JOBS = ("deals", "valuations")
PIPELINE_MODULES = ("deals/pipeline.py", "deals/tasks.py", "valuations/pipeline.py", "valuations/tasks.py")
WHAT_A_PIPELINE_MAY_USE = {"jobs.handle", "jobs.job_task"}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "jobs":
            # `from jobs import services` imports the module jobs.services.
            modules.update(f"jobs.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_it_sees_imports_of_both_forms(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import deals.models\nfrom jobs import services\nfrom jobs.handle import run_job\n")
    assert imported_modules(source) == {"deals.models", "jobs.services", "jobs.handle"}


def test_jobs_imports_no_app_that_runs_jobs() -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "jobs").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in APPS_THAT_RUN_JOBS
    )
    assert offenders == []


def test_pipelines_use_only_the_handle_of_jobs() -> None:
    offenders = sorted(
        f"{name}: {module}"
        for name in PIPELINE_MODULES
        for module in imported_modules(ROOT / name)
        if module.split(".")[0] == "jobs" and module not in WHAT_A_PIPELINE_MAY_USE
    )
    assert offenders == []
