"""Support for the crash tests (no tests here): a real child process killed with SIGKILL.

A child is ``python -c <code> <args>`` (``sys.executable``, the same venv) whose stderr the test
reads line by line on a thread, so waiting for evidence of progress has a timeout and a child that
dies early fails the test with what it printed. The child is always reaped.

**Why a test must wait for the child's database sessions to end (PostgreSQL).** SIGKILL ends the
client at once, but its server session lives on until the server notices: a ``COMMIT`` the client
had already sent is still in the socket and is executed *after* the kill. A test that reads the
database straight after ``wait()`` can therefore see a chunk commit between two of its reads (this
made ``test_accounts_retirees.py::…killed_mid_run…`` fail now and then: ``rows_done`` read before
the late commit, balances after it). The child's connections carry an ``application_name``, and
:func:`wait_sessions_gone` polls ``pg_stat_activity`` until none is left; only then is the
database state final. SQLite has no server: when the process is gone, so is its transaction.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

__all__ = ["Child", "child_url", "new_tag", "spawn", "wait_sessions_gone"]


def new_tag() -> str:
    """A name for one child's database sessions (PostgreSQL ``application_name``)."""
    return f"yibao-crash-{uuid.uuid4().hex[:12]}"


def child_url(engine: Engine, tag: str) -> str:
    """The engine's URL for a child process, with the password and, on PostgreSQL, ``tag`` as
    ``application_name`` (so the test can see when the child's sessions are gone)."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        url = url.update_query_dict({"application_name": tag})
    return url.render_as_string(hide_password=False)


class Child:
    """A running child process and the lines it wrote to stderr."""

    def __init__(self, code: str, args: list[str]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:]) or "(nothing)"

    def wait_for(self, wanted: Callable[[str], bool], what: str, timeout: float = 120.0) -> str:
        """The first stderr line for which ``wanted`` is true; fails clearly on timeout or early exit."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the child showed no {what} within {timeout:.0f} s; it wrote:\n"
                                     f"{self.tail()}")
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait()
                raise AssertionError(f"the child exited (code {code}) before {what}; it wrote:\n"
                                     f"{self.tail()}")
            self.lines.append(line)
            if wanted(line):
                return line

    def kill(self) -> None:
        """SIGKILL, then reap; the child must not have finished on its own first."""
        self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        while True:  # keep what it wrote after the last line read, for the messages
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        assert code == -signal.SIGKILL, \
            f"the child ended with {code}, not by SIGKILL; it wrote:\n{self.tail()}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@contextmanager
def spawn(code: str, *args: str) -> Iterator[Child]:
    """Start ``python -c code args…``; the child is killed (if still running) and reaped on exit."""
    child = Child(code, list(args))
    try:
        yield child
    finally:
        child.close()


def wait_sessions_gone(engine: Engine, tag: str, timeout: float = 60.0) -> None:
    """Wait until the server has ended every session of the killed child (module docstring).

    A session still there after ``timeout`` is terminated and waited for again, so the test goes
    on from a final state either way; none of this applies to SQLite.
    """
    if engine.dialect.name != "postgresql":
        return
    q = text("SELECT pid FROM pg_stat_activity WHERE application_name = :tag AND pid <> pg_backend_pid()")
    for attempt in range(2):
        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as c:
                pids = list(c.scalars(q, {"tag": tag}))
            if not pids:
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if attempt == 0:
            with engine.connect() as c:
                for pid in pids:
                    c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                c.commit()
    raise AssertionError(f"the killed child's PostgreSQL sessions ({tag}) did not end")
