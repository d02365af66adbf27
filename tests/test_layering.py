"""The layers of docs/architecture.md ("Layers"): no import runs back up, no folder-level cycle,
and only the HTTP edge of an app imports `api`.

Every application module is parsed with `ast`. Imports at module level and inside functions
count alike, and so does `apps.get_model("app", ...)`: reaching a model by its name is an
import all the same.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A package may import its own layer's package and those below; packages that
# share a layer (deals, valuations) know nothing of each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    # `outbound` is the SSRF-safe HTTP client for requests leaving the service; it knows
    # nothing of the product.
    ("core", "outbound"),
    ("accounts",),
    ("api",),
    ("events",),
    ("jobs",),
    ("deals", "valuations"),
    # Outgoing webhooks: they sign and deliver stored events through `outbound`, and nothing
    # below them knows they exist.
    ("webhooks",),
    ("dashboard",),
    ("config",),
)
# Top-level packages that are not the application: they may import anything.
NOT_APPLICATION = frozenset({"tests", "bench"})

# `api` is the HTTP toolkit (error envelope, idempotency, rate limit, parsers). Inside a
# domain app only the modules that speak HTTP may use it; models, services, pipelines and
# tasks raise `core.errors` and read `core.context` instead.
HTTP_PACKAGES = frozenset({"api", "dashboard", "config"})
HTTP_MODULE_NAMES = frozenset({"views.py", "urls.py", "serializers.py", "admin.py"})
# The stream views, which answer with the envelope before any stream byte.
HTTP_STREAM_MODULES = frozenset(
    {"events/streams.py", "events/feeds.py", "events/sse.py", "valuations/streams.py"}
)

# Imports that still run against the layers, each being removed by the change named beside
# it. The list can only shrink: an entry that no longer occurs fails the test too, so delete
# it with the import it excused. Keys are (module file, imported module).
PENDING: dict[tuple[str, str], str] = {}

RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def imported_modules(source: str) -> Iterator[tuple[int, str]]:
    """(line, module) for every absolute import in `source`, at any depth, and for every
    `get_model("app", ...)` / `get_model("app.Model")` (the module is then the app's name)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_model"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value.split(".")[0]


def application_packages() -> list[str]:
    return sorted(
        path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name not in NOT_APPLICATION
    )


def application_modules() -> list[Path]:
    return [path for package in application_packages() for path in sorted((ROOT / package).rglob("*.py"))]


def application_imports() -> Iterator[tuple[str, int, str, str]]:
    """(file, line, imported module, imported package) for every import of another package."""
    for path in application_modules():
        name = path.relative_to(ROOT).as_posix()
        package = name.split("/")[0]
        for line, module in imported_modules(path.read_text(encoding="utf-8")):
            target = module.split(".")[0]
            if target != package and target in RANK:
                yield name, line, module, target


def is_http_module(name: str) -> bool:
    package, _, rest = name.partition("/")
    return package in HTTP_PACKAGES or name in HTTP_STREAM_MODULES or Path(rest).name in HTTP_MODULE_NAMES


def violations() -> dict[tuple[str, str], str]:
    """(file, module) → why, for each import that breaks a rule of the layers."""
    found: dict[tuple[str, str], str] = {}
    for name, line, module, target in application_imports():
        package = name.split("/")[0]
        if RANK[target] > RANK[package]:
            found[(name, module)] = f"line {line}: {package} imports {target}, a higher layer"
        elif RANK[target] == RANK[package]:
            found[(name, module)] = f"line {line}: {package} imports {target}, which shares its layer"
        elif target == "api" and not is_http_module(name):
            found[(name, module)] = f"line {line}: only an app's HTTP modules import api"
    return found


def test_the_checker_sees_imports_at_every_depth_and_models_by_name() -> None:
    source = (
        "import deals.models\n"
        "from jobs import services\n"
        "from . import sibling\n"
        "def f():\n"
        "    from events.publish import publish_event\n"
        "    apps.get_model('deals', 'Deal')\n"
        "    django_apps.get_model('jobs.Job')\n"
    )
    assert list(imported_modules(source)) == [
        (1, "deals.models"),
        (2, "jobs"),
        (5, "events.publish"),
        (6, "deals"),
        (7, "jobs"),
    ]


def test_the_rules_refuse_climbing_siblings_and_api_below_the_http_edge() -> None:
    assert RANK["events"] < RANK["jobs"] < RANK["deals"] == RANK["valuations"] < RANK["dashboard"]
    http = ["deals/views.py", "events/sse.py", "api/health.py", "dashboard/forms.py", "jobs/admin.py"]
    assert [is_http_module(name) for name in http] == [True] * len(http)
    domain = ["deals/services.py", "events/publish.py", "jobs/runner.py", "deals/management/commands/x.py"]
    assert [is_http_module(name) for name in domain] == [False] * len(domain)


def test_every_application_package_has_a_layer() -> None:
    packages = application_packages()
    assert {"core", "api", "events", "jobs", "deals"} <= set(packages)
    missing = [package for package in packages if package not in RANK]
    assert missing == [], f"place each new app in LAYERS (tests/test_layering.py): {missing}"


def test_no_import_runs_back_up_the_layers() -> None:
    assert len(application_modules()) > 100
    unexpected = {key: why for key, why in violations().items() if key not in PENDING}
    assert unexpected == {}


def test_every_pending_exception_still_occurs() -> None:
    # Once the import is gone its entry must go too, so the list only ever shrinks.
    found = violations()
    gone = [key for key in PENDING if key not in found]
    assert gone == []


def test_no_cycle_between_folders() -> None:
    graph: dict[str, set[str]] = {package: set() for package in RANK}
    for name, _, module, target in application_imports():
        if (name, module) not in PENDING:
            graph[name.split("/")[0]].add(target)
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle
