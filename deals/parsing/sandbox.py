"""Read an untrusted statement file in a child process with hard limits on memory, CPU and time.

A file that goes over a limit fails its statement with a plain reason and harms nothing else: the
server (embedded mode) or worker (distributed mode) never holds the decompressed file, and a child
that runs away is killed. Children are forked from multiprocessing's fork server, which imports the
parsers once, so a child costs a fork rather than an interpreter start; forking the server or the
worker itself would copy their threads and connections.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gc
import logging
import math
import mmap
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from multiprocessing import process as mp_process
from multiprocessing import spawn
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from deals.parsing import extract_document, parse_document
from deals.parsing.limits import DEFAULT_LIMITS, ParseLimits
from deals.parsing.statement import ParsedStatement, StatementError, Transaction

logger = logging.getLogger(__name__)

UNREADABLE = "The file could not be read"

_context = multiprocessing.get_context("forkserver")
# The fork server imports this module (and with it every parser) once, before it forks children.
_context.set_forkserver_preload([__name__])
_start_lock = threading.Lock()


def _plain_main_process() -> mp_process.BaseProcess:
    """A stand-in for multiprocessing's own main-process object, whose class is private."""
    stand_in = mp_process.BaseProcess.__new__(mp_process.BaseProcess)
    stand_in.__dict__.update(
        _identity=(),
        _name="MainProcess",
        _parent_pid=None,
        _popen=None,
        _closed=False,
        _config={
            "authkey": mp_process.AuthenticationString(os.urandom(32)),  # type: ignore[attr-defined]
            "semprefix": "/mp",
        },
    )
    return stand_in


_presented_as = _plain_main_process()
_RESERVE_BYTES = 16 * 1024 * 1024
_reserve: list[mmap.mmap] = []


class SandboxedParse:
    """One file being read in a child process: wait for its text, then for its statement.

    Use it as a context manager: leaving the block kills the child if it is still running
    (the job was canceled, a time limit fired in the caller, the caller failed).
    """

    def __init__(self, data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self._started = time.monotonic()
        self._deadline = self._started + limits.time_seconds
        receiver, sender = _context.Pipe(duplex=False)
        self._receiver = receiver
        try:
            with _starting_a_reader():
                self._process = _context.Process(
                    target=_read_in_child, args=(sender, data, limits), name="statement-reader", daemon=True
                )
                self._process.start()
        except BaseException:
            receiver.close()
            raise
        finally:
            sender.close()

    def __enter__(self) -> SandboxedParse:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def extracted(self) -> None:
        """Wait until the file's type is recognised and its text read; raises StatementError."""
        self._expect("extracted")

    def parsed(self) -> ParsedStatement:
        """Wait for the parsed statement; raises StatementError."""
        statement, columns = self._expect("parsed")[:2]
        assert isinstance(statement, ParsedStatement)
        return dataclasses.replace(statement, transactions=_unpack_transactions(columns))

    def close(self) -> None:
        """Stop the child if it still runs and release its resources."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(10)
        self._receiver.close()
        self._process.close()

    def _expect(self, kind: str) -> tuple[Any, ...]:
        message = self._receive()
        if message[0] == "failed":
            reason, peak_kb = message[1], message[2]
            self._log(f"refused: {reason}", peak_kb)
            raise StatementError(reason)
        if message[0] != kind:
            raise RuntimeError(f"the statement reader sent {message[0]!r}, expected {kind!r}")
        if kind == "parsed":
            self._log("parsed", message[-1])
        return message[1:]

    def _receive(self) -> tuple[Any, ...]:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0 or not self._receiver.poll(remaining):
            self._process.kill()
            self._log(f"killed after {self.limits.time_seconds:g} s", None)
            raise StatementError(self.limits.too_slow())
        try:
            message = self._receiver.recv()
        except EOFError:
            # The child died without a word: the CPU limit (SIGXCPU) or a crash in native code
            # when an allocation failed under the memory limit.
            self._process.join(10)
            exitcode = self._process.exitcode
            if exitcode == -signal.SIGXCPU:
                self._log("stopped by its CPU limit", None)
                raise StatementError(self.limits.too_slow()) from None
            if exitcode in _ALLOCATION_CRASHES:
                # The parsers are pure Python: native code crashes there when an allocation
                # fails under RLIMIT_AS, so a crash is the memory limit biting, not a bug.
                self._log(f"crashed (signal {-exitcode}) under its memory limit", None)
                raise StatementError(self.limits.too_big_in_memory()) from None
            logger.warning("The statement reader exited with code %s without an answer", exitcode)
            raise StatementError(UNREADABLE) from None
        assert isinstance(message, tuple)
        return message

    def _log(self, outcome: str, peak_kb: int | None) -> None:
        peak = f"{peak_kb // 1024} MB" if peak_kb is not None else "unknown"
        logger.info(
            "Statement reader %s in %.2f s, peak memory %s",
            outcome,
            time.monotonic() - self._started,
            peak,
        )


# Signals a child dies of when native code cannot allocate (a NULL dereference, an abort).
_ALLOCATION_CRASHES = frozenset({-signal.SIGSEGV, -signal.SIGBUS, -signal.SIGABRT})


def parse_statement_file(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> ParsedStatement:
    """Extract and parse a file in a child process under `limits`; raises StatementError."""
    with SandboxedParse(data, limits) as reading:
        reading.extracted()
        return reading.parsed()


@contextlib.contextmanager
def _starting_a_reader() -> Iterator[None]:
    """Let multiprocessing start a reader from any process, without re-running its __main__.

    Two things stand in the way. multiprocessing asks every child to import the parent's main
    script again (uvicorn, celery, pytest) so that functions defined there can be unpickled; the
    reader's target lives in this module, so that would only cost time and run whatever the
    script does at import (and Python 3.11's fork server cannot preload it). And in a Celery pool
    process multiprocessing's "current process" is billiard's daemonic process object, which
    refuses to have children and whose key cannot be pickled. So while a reader starts, the
    current process is presented as a plain main process and the main script is left out; a
    reader whose pool process is killed is orphaned, and still ends within its own CPU limit.
    """
    original = spawn.get_preparation_data

    def without_main(name: str) -> dict[str, Any]:
        data = original(name)
        data.pop("init_main_from_name", None)
        data.pop("init_main_from_path", None)
        return data

    with _start_lock:
        current = mp_process._current_process  # type: ignore[attr-defined]
        mp_process._current_process = _presented_as  # type: ignore[attr-defined]
        spawn.get_preparation_data = without_main
        try:
            yield
        finally:
            spawn.get_preparation_data = original
            mp_process._current_process = current  # type: ignore[attr-defined]


def _read_in_child(channel: Connection, data: bytes, limits: ParseLimits) -> None:
    # What the fork server imported is never garbage: keep the collector off it (faster
    # collections, and no copy-on-write of those pages for the collector's bookkeeping).
    gc.freeze()
    _limit_resources(limits)
    # Address space held back for the way out: when the file exhausts the memory limit, this is
    # released so the answer can still be built and sent (an mmap costs no resident memory).
    _reserve.append(mmap.mmap(-1, _RESERVE_BYTES))
    try:
        try:
            outcome = _read(channel, data, limits)
        except MemoryError:
            _release_reserve()
            outcome = ("failed", limits.too_big_in_memory())
        channel.send((*outcome, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    finally:
        channel.close()


def _read(channel: Connection, data: bytes, limits: ParseLimits) -> tuple[Any, ...]:
    # Returning (rather than sending from the except blocks) drops the exception, its traceback
    # and the half-built layout its frames hold before anything else is allocated.
    try:
        document = extract_document(data, limits)
        del data
        channel.send(("extracted",))
        statement = parse_document(document)
        return (
            "parsed",
            dataclasses.replace(statement, transactions=()),
            _pack_transactions(statement.transactions),
        )
    except StatementError as exc:
        _release_reserve()
        return ("failed", limits.too_big_in_memory() if _ran_out_of_memory(exc) else exc.reason)
    except MemoryError:
        _release_reserve()
        return ("failed", limits.too_big_in_memory())


def _release_reserve() -> None:
    while _reserve:
        _reserve.pop().close()


# Transactions cross the pipe as columns of plain values: pickling 10,000 Transaction objects with
# their Decimals and dates costs several times more than strings and ints rebuilt on arrival, and
# was most of what reading in a child process added to a large CSV.
# Fields in __init__ order, so a row rebuilds its Transaction positionally (half the cost of keywords).
_FIELDS = tuple(field.name for field in dataclasses.fields(Transaction) if field.init)


def _pack_transactions(transactions: Sequence[Transaction]) -> list[tuple[str, list[Any]]]:
    columns = []
    for name in _FIELDS:
        values = [getattr(t, name) for t in transactions]
        present = [value for value in values if value is not None]
        if present and all(type(value) is Decimal for value in present):
            columns.append(("decimal", [None if value is None else str(value) for value in values]))
        elif present and all(type(value) is datetime.date for value in present):
            columns.append(("date", [None if value is None else value.toordinal() for value in values]))
        else:
            columns.append(("plain", values))
    return columns


def _unpack_transactions(columns: list[tuple[str, list[Any]]]) -> tuple[Transaction, ...]:
    decoded = []
    for kind, values in columns:
        if kind == "decimal":
            values = [None if value is None else Decimal(value) for value in values]
        elif kind == "date":
            values = [None if value is None else datetime.date.fromordinal(value) for value in values]
        decoded.append(values)
    return tuple(Transaction(*row) for row in zip(*decoded, strict=True))


def _ran_out_of_memory(error: BaseException) -> bool:
    # The parsers turn unexpected errors into a StatementError; a MemoryError may sit behind it,
    # wrapped (pdfplumber) or chained, and deserves its own reason.
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        if isinstance(current, MemoryError):
            return True
        seen.add(id(current))
        pending += [current.__cause__, current.__context__]
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
    return False


def _limit_resources(limits: ParseLimits) -> None:
    _lower_limit(resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes)
    # CPU seconds: SIGXCPU at the soft limit, SIGKILL at the hard one; the parent's wall clock
    # normally fires first, this holds even if the parent is stuck.
    cpu = math.ceil(limits.time_seconds) + 1
    _lower_limit(resource.RLIMIT_CPU, cpu, cpu + 5)


def _lower_limit(which: int, soft: int, hard: int) -> None:
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(which, (soft, hard))
