"""Pre-forked worker processes and the supervisor that keeps them running.

Python runs one thread of Python code at a time, so a server uses more than
one core by running more than one process. :class:`Supervisor` forks ``N``
workers; each runs its own :class:`~sockit.server.HTTPServer` listening on
the same port with ``SO_REUSEPORT``, and the kernel spreads new connections
over their accept queues. The supervisor itself serves nothing: it

- restarts a worker that died, after a backoff that grows with the restarts
  of the last minute (:class:`RestartBudget`); past ``max_restarts`` in that
  window it gives up, drains the others and exits ``1`` (a crash loop is a
  bug or a bad configuration, not load);
- turns SIGTERM or SIGINT into SIGTERM for every worker (each drains for its
  grace), waits for them, and kills what is left ``grace + 5`` s later; a
  second signal is passed on too, which cuts the workers' drains short;
- passes SIGHUP on to every worker (they reopen their log files) after
  running its own ``on_reopen``.

Workers ignore SIGINT (a Ctrl-C reaches the whole process group; the
supervisor decides) and drain when the supervisor disappears.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Final

from sockit.errors import LocalProtocolError
from sockit.limits import RetryDefaults, WorkerLimits
from sockit.net import Reactor, SignalEvent, Socket, TimerEvent
from sockit.net._oserror import resolve_address
from sockit.observe import get_logger

__all__ = ["RestartBudget", "Supervisor", "reserve_port"]

log = get_logger("server.workers")

#: Restarts of one supervisor allowed inside :data:`RESTART_WINDOW` before it gives up.
MAX_RESTARTS: Final = WorkerLimits().max_restarts
#: The window restarts are counted in (seconds).
RESTART_WINDOW: Final = WorkerLimits().restart_window
#: Extra time after a worker's grace before it is killed.
_KILL_MARGIN: Final = WorkerLimits().kill_margin
#: How often the supervisor looks for dead workers even without SIGCHLD.
_REAP_EVERY: Final = 0.5
#: The most workers one supervisor forks.
MAX_WORKERS: Final = WorkerLimits().max_workers


class RestartBudget:
    """How long to wait before a restart, or ``None``: too many restarts, give up.

    The delay is ``backoff``'s exponential (``initial_delay * multiplier**n``,
    at most ``max_delay``, with its jitter) where ``n`` counts the restarts
    in the last ``window`` seconds: a worker killed once comes back at once,
    a crashing one ever slower, and after ``max_restarts`` the caller stops.
    """

    def __init__(
        self,
        backoff: RetryDefaults | None = None,
        *,
        max_restarts: int = MAX_RESTARTS,
        window: float = RESTART_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
            raise LocalProtocolError("max_restarts must be an int >= 0")
        if not window > 0:
            raise LocalProtocolError("the restart window must be positive")
        self.backoff = RetryDefaults() if backoff is None else backoff
        self.max_restarts = max_restarts
        self.window = window
        self.clock = clock
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter only
        self._recent: deque[float] = deque()

    @property
    def recent(self) -> int:
        """Restarts counted in the current window."""
        self._expire(self.clock())
        return len(self._recent)

    def _expire(self, now: float) -> None:
        while self._recent and now - self._recent[0] >= self.window:
            self._recent.popleft()

    def next_delay(self) -> float | None:
        """Count one restart now; its delay in seconds, or ``None`` past the budget."""
        now = self.clock()
        self._expire(now)
        n = len(self._recent)
        if n >= self.max_restarts:
            return None
        self._recent.append(now)
        b = self.backoff
        delay = min(b.max_delay, b.initial_delay * b.multiplier**n)
        if b.jitter:
            delay *= 1.0 + b.jitter * (2.0 * self._rng.random() - 1.0)
        return max(0.0, delay)


def reserve_port(host: str, port: int) -> tuple[Socket, int]:
    """Bind (not listen) a ``SO_REUSEPORT`` socket on ``host:port``: the port, held.

    A bound socket that does not listen receives no connections, yet keeps
    the port (``port=0``: the kernel's pick) for the workers to join with
    ``reuse_port=True`` while the supervisor lives.
    """
    family, addr = resolve_address(host, port, passive=True)[0]
    sock = Socket(family)
    try:
        sock.reuseaddr = True
        sock.reuseport = True
        sock.bind(addr)
        return sock, int(sock.getsockname()[1])
    except BaseException:
        sock.close()
        raise


def _child_signals() -> None:
    """In a new worker: the supervisor's signal plumbing is not ours."""
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Supervisor:
    """Fork ``workers`` processes running ``target(index)``; keep them alive; stop them.

    ``target`` runs in the child and returns its exit status (``None``: 0);
    it should serve until SIGTERM, then drain. :meth:`run` blocks until the
    workers are gone and returns the supervisor's exit status. Use it from a
    process's main thread, with no other threads running (``fork``).
    """

    def __init__(
        self,
        target: Callable[[int], int | None],
        workers: int,
        *,
        grace: float = 5.0,
        budget: RestartBudget | None = None,
        stop_signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM),
        reopen_signals: tuple[int, ...] = (signal.SIGHUP,),
        on_reopen: Callable[[], object] | None = None,
        on_start: Callable[[int, int], None] | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int):
            raise LocalProtocolError("workers must be an int")
        if not 1 <= workers <= MAX_WORKERS:
            raise LocalProtocolError(f"workers must be in 1..{MAX_WORKERS}")
        self.target = target
        self.workers = workers
        self.grace = grace
        self.budget = RestartBudget() if budget is None else budget
        self.stop_signals = stop_signals
        self.reopen_signals = reopen_signals
        self.on_reopen = on_reopen
        #: Called in the supervisor after each fork with ``(index, pid)``.
        self.on_start = on_start
        #: Live workers: pid -> index.
        self.pids: dict[int, int] = {}
        #: Workers started again after dying.
        self.restarts = 0
        self.exit_code = 0
        self._stopping = False
        self._kill_at: float | None = None
        self._reactor: Reactor | None = None

    # -- forking ----------------------------------------------------------------------

    def _spawn(self, index: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the supervisor's code
            code = 1
            try:
                _child_signals()
                result = self.target(index)
                code = 0 if result is None else int(result)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        self.pids[pid] = index
        log.info("worker %d started (pid %d)", index, pid)
        if self.on_start is not None:
            self.on_start(index, pid)

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> int:
        """Start the workers and supervise them until they are gone; the exit status."""
        reactor = self._reactor = Reactor()
        try:
            reactor.watch_signals((*self.stop_signals, *self.reopen_signals, signal.SIGCHLD))
            reactor.add_timer(_REAP_EVERY, data="reap", repeat=_REAP_EVERY)
            for index in range(self.workers):
                self._spawn(index)
            while self.pids or not self._stopping:
                timeout = None
                if self._kill_at is not None:
                    timeout = max(0.0, self._kill_at - reactor.clock())
                for ev in reactor.wait(timeout):
                    if type(ev) is SignalEvent:
                        self._on_signal(int(ev.signum))
                    elif (
                        type(ev) is TimerEvent and isinstance(ev.data, int) and not self._stopping
                    ):
                        self._spawn(ev.data)
                self._reap()
                if self._kill_at is not None and reactor.clock() >= self._kill_at:
                    self._kill_all()
        finally:
            if self.pids:
                self._kill_all()
            reactor.unwatch_signals()
            reactor.close()
            self._reactor = None
        return self.exit_code

    def _on_signal(self, signum: int) -> None:
        if signum == signal.SIGCHLD:
            return  # reaped after the events
        if signum in self.reopen_signals:
            log.info("signal %d: reopening logs and telling %d workers", signum, len(self.pids))
            if self.on_reopen is not None:
                try:
                    self.on_reopen()
                except Exception:
                    log.exception("reopening the supervisor's logs failed")
            self._signal_all(signal.SIGHUP)
            return
        if self._stopping:
            log.warning("signal %d again: cutting the workers' drains short", signum)
            self._signal_all(signal.SIGTERM)
            return
        log.info("signal %d: draining %d workers", signum, len(self.pids))
        self.stop()

    def stop(self, exit_code: int = 0) -> None:
        """Tell every worker to drain (SIGTERM); kill what is left after the grace."""
        if self._stopping:
            return
        self._stopping = True
        self.exit_code = exit_code
        if self._reactor is not None:
            self._kill_at = self._reactor.clock() + self.grace + _KILL_MARGIN
        self._signal_all(signal.SIGTERM)

    def _signal_all(self, signum: int) -> None:
        for pid in list(self.pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _kill_all(self) -> None:
        for pid in list(self.pids):
            log.warning("worker pid %d did not stop in time: killed", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            self.pids.pop(pid, None)

    def _reap(self) -> None:
        while self.pids:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.pids.clear()
                return
            if pid == 0:
                return
            index = self.pids.pop(pid, None)
            if index is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if self._stopping:
                log.info("worker %d (pid %d) exited: %d", index, pid, code)
                continue
            delay = self.budget.next_delay()
            if delay is None:
                log.error("worker %d (pid %d) died (%d); too many restarts: stopping", index,
                          pid, code)
                self.stop(exit_code=1)
                continue
            log.warning("worker %d (pid %d) died (%d); restarting in %.2f s", index, pid, code,
                        delay)
            self.restarts += 1
            assert self._reactor is not None
            self._reactor.add_timer(delay, data=index)
