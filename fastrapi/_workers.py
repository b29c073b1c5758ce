"""``serve(workers=N)`` / ``fastrapi run --workers N``: a master process that
supervises N forked worker processes, as uvicorn's Multiprocess supervisor.

The master binds the listening socket once and every worker serves that one
socket (``Server.listen_fd``), so all workers accept from one kernel queue:
a worker that stops or dies leaves the connections waiting there to the
others (with one SO_REUSEPORT socket per worker they would be reset).

- A worker that dies (``kill -9``, a crash) is logged ("Child process [pid]
  died") and replaced. One that exits before it ever got ready (the app's
  startup failed) stops the master instead, with exit code 3 (uvicorn's
  STARTUP_FAILURE): a restart would fail the same way.
- SIGTERM / SIGINT: every worker gets SIGTERM and drains (the engine's
  graceful stop: in-flight requests finish with ``connection: close``); the
  master waits for them (SIGKILL after ``drain_grace`` seconds) and returns.
- SIGHUP: the workers are replaced one at a time; each replacement is ready
  (startup done, serving) before the worker it replaces gets SIGTERM, so no
  request is refused and in-flight ones finish on the old worker.
- SIGTTIN / SIGTTOU: one worker more / less.

A worker tells the master it is ready by writing one byte to a pipe, after
the app's startup and right before it starts serving."""
from __future__ import annotations

import errno
import logging
import os
import select
import signal
import socket
import time
from typing import Any, Callable, Dict, List, Optional

logger = logging.getLogger("fastrapi.error")

STARTUP_FAILURE = 3
READY_TIMEOUT = 60.0  # a SIGHUP replacement not ready by then aborts the rollout
DRAIN_GRACE = 30.0    # beyond the engine's drain timeout: then SIGKILL

_HANDLED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGTTIN", "SIGTTOU", "SIGCHLD")


def bind_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """The listening socket the workers share (inherited across fork)."""
    err: Optional[OSError] = None
    for family, kind, proto, _, addr in socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE):
        s = socket.socket(family, kind, proto)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(addr)
            s.listen(backlog)
            return s
        except OSError as e:
            err = e
            s.close()
    raise err or OSError(f"cannot listen on {host}:{port}")


class Worker:
    def __init__(self, pid: int, ready_fd: int) -> None:
        self.pid = pid
        self.ready_fd = ready_fd  # -1 once read or closed
        self.ready = False
        self.status: Optional[int] = None  # wait status once reaped

    def read_ready(self) -> None:
        """The byte a worker writes once it serves (EOF: it died first)."""
        if self.ready_fd < 0:
            return
        try:
            data = os.read(self.ready_fd, 1)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        self.ready = self.ready or data == b"1"
        os.close(self.ready_fd)
        self.ready_fd = -1

    def reap(self, block: bool = False) -> bool:
        """True once the process has exited (its status kept)."""
        if self.status is not None:
            return True
        try:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            pid, status = self.pid, 0
        if pid == 0:
            return False
        self.status = status
        if self.ready_fd >= 0:
            self.read_ready()
        return True

    def signal(self, sig: int) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def describe(self) -> str:
        st = self.status or 0
        if os.WIFSIGNALED(st):
            return f"killed by {signal.Signals(os.WTERMSIG(st)).name}"
        return f"exit code {os.WEXITSTATUS(st)}"


class Supervisor:
    """The master: ``run()`` blocks until SIGTERM/SIGINT (or a boot failure)."""

    def __init__(self, sock: socket.socket, workers: int,
                 serve_child: Callable[[socket.socket, Callable[[], None]], None]) -> None:
        self.sock = sock
        self.count = max(1, workers)
        self.serve_child = serve_child  # runs in the worker: serve until stopped
        self.workers: List[Worker] = []
        self.signals: List[int] = []
        self.should_exit = False
        self.exit_code = 0
        self.drain_grace = DRAIN_GRACE
        self._wake_r = self._wake_w = -1

    # ---- processes
    def spawn(self) -> Worker:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(r)
            self._child(w)
        os.close(w)
        os.set_blocking(r, False)
        worker = Worker(pid, r)
        return worker

    def _child(self, ready_w: int) -> None:
        code = 0
        ready = False
        try:
            signal.set_wakeup_fd(-1)
            for name in _HANDLED:
                signal.signal(getattr(signal, name), signal.SIG_DFL)
            for name in ("SIGHUP", "SIGTTIN", "SIGTTOU"):  # the master's business
                signal.signal(getattr(signal, name), signal.SIG_IGN)
            for fd in [self._wake_r, self._wake_w] + [x.ready_fd for x in self.workers]:
                if fd >= 0:
                    os.close(fd)
            from . import _runtime, applications
            if applications._setup_done:
                from . import _fastrapi
                _fastrapi._after_fork()
            _runtime.reset_after_fork()
            logger.info("Started server process [%d]", os.getpid())

            def on_ready() -> None:
                nonlocal ready
                ready = True
                os.write(ready_w, b"1")

            self.serve_child(self.sock, on_ready)
        except BaseException:
            logger.exception("worker [%d] failed", os.getpid())
            code = 1 if ready else STARTUP_FAILURE
        finally:
            logging.shutdown()
            os._exit(code)

    # ---- the master's loop
    def run(self) -> int:
        logger.info("Started parent process [%d]", os.getpid())
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        saved = {n: signal.signal(getattr(signal, n), self._on_signal) for n in _HANDLED}
        old_wake = signal.set_wakeup_fd(self._wake_w)
        try:
            for _ in range(self.count):
                self.workers.append(self.spawn())
            while not self.should_exit:
                self._wait(0.5)
                self.handle_signals()
                self.keep_alive()
        finally:
            # the master's copy of the socket goes first: once the workers have
            # closed theirs (each takes what is queued, then closes), new clients
            # are refused rather than queued where nobody accepts and reset later
            self.sock.close()
            self.terminate_all()
            self.join_all()
            signal.set_wakeup_fd(old_wake)
            for n, h in saved.items():
                signal.signal(getattr(signal, n), h)
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)
            self._wake_r = self._wake_w = -1
            logger.info("Stopping parent process [%d]", os.getpid())
        return self.exit_code

    def _on_signal(self, signum: int, frame: Any) -> None:
        if signum != signal.SIGCHLD:
            self.signals.append(signum)

    def _wait(self, timeout: float, extra: Optional[List[int]] = None) -> None:
        """Until a signal, a worker's ready byte, or the timeout."""
        fds = [self._wake_r] + [w.ready_fd for w in self.workers if w.ready_fd >= 0] + (extra or [])
        try:
            readable, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            readable = []
        if self._wake_r in readable:
            try:
                while os.read(self._wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        for w in self.workers:
            if w.ready_fd in readable:
                w.read_ready()

    def handle_signals(self) -> None:
        while self.signals and not self.should_exit:
            sig = self.signals.pop(0)
            name = signal.Signals(sig).name
            if sig in (signal.SIGINT, signal.SIGTERM):
                logger.info("Received %s, exiting.", name)
                self.should_exit = True
            elif sig == signal.SIGHUP:
                logger.info("Received SIGHUP, restarting processes.")
                self.restart_all()
            elif sig == signal.SIGTTIN:
                logger.info("Received SIGTTIN, increasing the number of processes.")
                self.count += 1
                self.workers.append(self.spawn())
            elif sig == signal.SIGTTOU:
                logger.info("Received SIGTTOU, decreasing number of processes.")
                if self.count <= 1:
                    logger.info("Already reached one process, cannot decrease the number of "
                                "processes anymore.")
                    continue
                self.count -= 1
                self.retire(self.workers.pop())

    def keep_alive(self) -> None:
        """Replace the workers that died; a boot failure stops the master."""
        for i, w in enumerate(list(self.workers)):
            if self.should_exit or not w.reap():
                continue
            if not w.ready:
                logger.error("Child process [%d] failed to start (%s), stopping the parent "
                             "process.", w.pid, w.describe())
                self.should_exit = True
                self.exit_code = STARTUP_FAILURE
                return
            logger.warning("Child process [%d] died (%s)", w.pid, w.describe())
            self.workers[i] = self.spawn()

    def restart_all(self) -> None:
        """Each worker replaced by one that is ready before the old one drains."""
        for i, old in enumerate(list(self.workers)):
            if self.should_exit:
                return
            new = self.spawn()
            if not self._wait_ready(new):
                new.signal(signal.SIGKILL)
                new.reap(block=True)
                if new.ready_fd >= 0:
                    os.close(new.ready_fd)
                    new.ready_fd = -1
                if not self.should_exit:
                    logger.error("New child process [%d] was not ready in time; keeping worker "
                                 "[%d] and aborting the restart.", new.pid, old.pid)
                return
            self.workers[i] = new
            self.retire(old)

    def _wait_ready(self, new: Worker) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while not new.ready and time.monotonic() < deadline:
            self._wait(0.5, [new.ready_fd] if new.ready_fd >= 0 else None)
            if new.ready_fd >= 0:
                new.read_ready()
            for sig in self.signals:
                if sig in (signal.SIGINT, signal.SIGTERM):
                    return False
            if not new.ready and new.reap():
                return False
        return new.ready

    def retire(self, w: Worker) -> None:
        """SIGTERM one worker and wait for it to drain."""
        self.terminate(w)
        self.join(w)

    def terminate(self, w: Worker) -> None:
        if w.status is None:
            w.signal(signal.SIGTERM)
            logger.info("Terminated child process [%d]", w.pid)

    def join(self, w: Worker) -> None:
        logger.info("Waiting for child process [%d]", w.pid)
        deadline = time.monotonic() + self.drain_grace
        while not w.reap():
            if time.monotonic() >= deadline:
                logger.error("Child process [%d] did not stop; killing it", w.pid)
                w.signal(signal.SIGKILL)
                w.reap(block=True)
                break
            time.sleep(0.02)
        if w.ready_fd >= 0:
            os.close(w.ready_fd)
            w.ready_fd = -1

    def terminate_all(self) -> None:
        for w in self.workers:
            self.terminate(w)

    def join_all(self) -> None:
        for w in self.workers:
            self.join(w)
        self.workers = []


def serve_workers(app: Any, host: str, port: int, workers: int,
                  child_kwargs: Dict[str, Any]) -> None:
    """Bind, announce, supervise. Raises SystemExit(3) if a worker fails to
    start (as uvicorn.run does)."""
    if port == 0:  # the workers would serve a port nobody can learn
        raise ValueError("workers > 1 needs a fixed port")
    try:
        sock = bind_socket(host, port)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            logger.error("[Errno %d] error while attempting to bind on address (%r, %d): "
                         "address already in use", e.errno, host, port)
        raise
    bound = sock.getsockname()[1]
    logger.info("fastrapi running on http://%s:%d with %d workers (Press CTRL+C to quit)",
                host, bound, workers)

    def serve_child(s: socket.socket, on_ready: Callable[[], None]) -> None:
        app._serve_one(host, bound, sock=s, on_ready=on_ready, announce=False, **child_kwargs)

    try:
        code = Supervisor(sock, workers, serve_child).run()
    finally:
        sock.close()
    logger.info("Shutting down")
    if code:
        raise SystemExit(code)
