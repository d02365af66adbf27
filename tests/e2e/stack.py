"""Real processes for end-to-end tests: web servers (uvicorn or daphne) and Celery workers.

`distributed_env()` gives a fresh PostgreSQL database and Redis namespace; `embedded_env()`
a fresh SQLite file with nothing else. Both are migrated before any process starts.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import psycopg

from tests.log_leaks import DETECTOR

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent

#: Numbers the processes' log files; `next()` on it is atomic under the GIL.
_LOG_NUMBERS = itertools.count()

# Variables that must not leak from the test runner into an "embedded" process.
_SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "JOB_RUNNER", "REDIS_PREFIX", "DJANGO_SETTINGS_MODULE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARS}
    env.update({"PYTHONUNBUFFERED": "1", "APP_ENV": "test", "LOG_LEVEL": "INFO"})
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)


@dataclass
class Stack:
    """One deployment: its environment, its processes and their logs."""

    env: dict[str, str]
    workdir: Path
    processes: list[Process] = field(default_factory=list)
    cleanup: list[object] = field(default_factory=list)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        # A number of its own per process: processes started side by side (from threads) would
        # otherwise share `len(self.processes)` and write over each other's log.
        log_path = self.workdir / f"{name}-{next(_LOG_NUMBERS)}.log"
        log_file = log_path.open("wb")
        popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env or self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log_path)
        self.processes.append(process)
        return process

    def start_web(self, server: str = "uvicorn", port: int | None = None, **env: str) -> str:
        """Start a web process and return its base URL once /healthz answers."""
        port = port or free_port()
        if server == "uvicorn":
            argv = [
                str(BIN / "uvicorn"),
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
            argv += ["--backlog", "4096", "--no-server-header"]
        elif server == "daphne":
            argv = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
        else:
            raise ValueError(server)
        process = self._spawn(f"web-{server}-{port}", argv, {**self.env, **env} if env else None)
        base_url = f"http://127.0.0.1:{port}"
        wait_http(base_url + "/healthz", process)
        return base_url

    def start_worker(self, concurrency: int = 2, **env: str) -> Process:
        argv = [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
        ]
        argv += [
            "--queues",
            self.env.get("REDIS_PREFIX", "dealstream"),
            "--without-gossip",
            "--without-mingle",
        ]
        # Readiness is read from the worker's "ready." INFO line, whatever the stack's LOG_LEVEL.
        process = self._spawn("worker", argv, {**self.env, **env, "LOG_LEVEL": "INFO"})
        deadline = time.monotonic() + 60
        while "ready." not in process.log():
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start:\n{process.log()}")
            time.sleep(0.2)
        return process

    def start_beat(self) -> Process:
        """`celery beat`: the periodic tasks (reaper, outbox) on their production schedule."""
        argv = [str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO"]
        argv += ["--schedule", str(self.workdir / "celerybeat-schedule")]
        process = self._spawn("beat", argv, {**self.env, "LOG_LEVEL": "INFO"})
        deadline = time.monotonic() + 60
        while "beat: Starting" not in process.log():
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery beat did not start:\n{process.log()}")
            time.sleep(0.2)
        return process

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def create_key(self, org: str = "E2E Org", scopes: str = "read,write") -> str:
        return self.manage("createapikey", "--org", org, "--scopes", scopes).strip()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        # The processes' own logs count as the run's log output: no key may appear in them.
        for process in self.processes:
            with contextlib.suppress(OSError):
                DETECTOR.inspect_output(process.name, process.log())
        for finalizer in reversed(self.cleanup):
            with contextlib.suppress(Exception):
                finalizer()  # type: ignore[operator]
        # Logs, media and the SQLite file go with the stack; set KEEP_E2E_WORKDIR=1 to keep them.
        if not os.environ.get("KEEP_E2E_WORKDIR"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self, *names: str) -> str:
        """Every process's log, or only those of the processes called `names` (say "worker", "beat")."""
        chosen = [p for p in self.processes if not names or p.name in names]
        return "\n".join(f"===== {p.name} ({p.log_path.name})\n{p.log()}" for p in chosen)


def wait_http(
    url: str, process: Process | subprocess.Popen[bytes] | None = None, timeout: float = 60
) -> None:
    """Wait until `url` answers 200, failing early if the server process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if isinstance(process, subprocess.Popen) and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        if isinstance(process, Process) and process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.log()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    log = f":\n{process.log()}" if isinstance(process, Process) else ""
    raise RuntimeError(f"{url} did not answer in {timeout}s{log}")


def rss_kb(pid: int) -> int:
    """Resident memory of a process, in KB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _admin_dsn(database_url: str) -> str:
    parsed = urlparse(database_url)
    return parsed._replace(path="/postgres").geturl()


class RedisServer:
    """A Redis server of the test's own, on a free port, that the test may kill and restart.

    No persistence, like the compose file's: a restart loses whatever the server held.
    """

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)


@contextlib.contextmanager
def own_redis() -> Iterator[RedisServer]:
    """A fresh Redis server for fault drills, never the shared one."""
    workdir = Path(tempfile.mkdtemp(prefix="dealstream-redis-"))
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def distributed_stack(redis_url: str | None = None, **extra: str) -> Iterator[Stack]:
    """PostgreSQL + Redis, from the runner's DATABASE_URL / REDIS_URL, isolated per stack.

    `redis_url` replaces the runner's Redis (a server of the test's own, for fault drills).
    """
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = redis_url or os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url.startswith("redis"):
        raise RuntimeError("distributed end-to-end tests need DATABASE_URL (PostgreSQL) and REDIS_URL")
    name = f"dealstream_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_dsn(database_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    workdir = Path(tempfile.mkdtemp(prefix="dealstream-e2e-"))
    env = base_env(
        DATABASE_URL=urlparse(database_url)._replace(path=f"/{name}").geturl(),
        REDIS_URL=redis_url,
        REDIS_PREFIX=f"e2e{uuid.uuid4().hex[:8]}",
        MEDIA_ROOT=str(workdir / "media"),
        **extra,
    )
    stack = Stack(env=env, workdir=workdir)

    def drop() -> None:
        with psycopg.connect(_admin_dsn(database_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    stack.cleanup.append(drop)
    try:
        stack.manage("migrate", "--noinput")
        yield stack
    finally:
        stack.stop()


@contextlib.contextmanager
def embedded_stack(**extra: str) -> Iterator[Stack]:
    """The embedded default: a SQLite file, in-memory layer, jobs inside the web process."""
    workdir = Path(tempfile.mkdtemp(prefix="dealstream-embedded-"))
    env = base_env(
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}", MEDIA_ROOT=str(workdir / "media"), **extra
    )
    stack = Stack(env=env, workdir=workdir)
    try:
        stack.manage("migrate", "--noinput")
        yield stack
    finally:
        stack.stop()


def stack_in_mode(mode: str, **extra: str) -> contextlib.AbstractContextManager[Stack]:
    """`embedded_stack` or `distributed_stack` by name, for tests parametrised over both modes.

    The distributed mode is skipped where its services are not configured (in CI they are
    required: tests/conftest.py fails the run before any test when they are missing).
    """
    if mode == "distributed":
        if not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")):
            import pytest  # the benchmarks import this module without pytest's machinery

            pytest.skip("the distributed mode needs DATABASE_URL (PostgreSQL) and REDIS_URL")
        return distributed_stack(**extra)
    return embedded_stack(**extra)
