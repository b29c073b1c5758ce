"""Auto-reload: a supervisor process that runs the server in a child process
and restarts it when a ``.py`` file under the watched directories changes.

Stdlib only (uvicorn's StatReload: poll mtimes). The child is a fresh
interpreter (``python -c``) that re-imports the app from an import string,
so edited code is really reloaded; its settings travel in one environment
variable. Used by ``fastrapi dev`` / ``fastrapi run --reload`` and by
``app.serve(..., reload=True)``."""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, Dict, List, Optional, Sequence, Tuple

logger = logging.getLogger("fastrapi.error")

CHILD_ENV = "FASTRAPI_RELOAD_CHILD"
POLL_INTERVAL = 0.5      # seconds between mtime scans
STOP_TIMEOUT = 10.0      # SIGTERM -> SIGKILL grace for the child
_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages"}


# ---- what the child runs

def child_main() -> None:
    """Entry point of the server process started by the supervisor."""
    cfg = json.loads(os.environ.pop(CHILD_ENV))
    for p in reversed(cfg.get("sys_path") or []):
        if p not in sys.path:
            sys.path.insert(0, p)
    _watch_parent(cfg.get("parent_pid"))
    from . import cli
    code = cli.serve_import_string(
        cfg["import_string"], serve_kwargs=cfg["serve"], factory=cfg.get("factory", False),
        compat=cfg.get("compat", False), root_path=cfg.get("root_path"),
        proxy=cfg.get("proxy"), sys_path=(cfg.get("sys_path") or [None])[0],
        source=cfg.get("source", "import string"))
    sys.exit(code)


def _watch_parent(ppid: Optional[int]) -> None:
    """Stop (SIGTERM to self) when the supervisor disappears: never an orphan server."""
    if not ppid:
        return

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != ppid:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="fastrapi-reload-parent", daemon=True).start()


# ---- the supervisor

class StatReload:
    """Polls ``*.py`` mtimes under ``dirs``; restarts the child on a change."""

    name = "StatReload"

    def __init__(self, child_config: Dict[str, Any], dirs: Sequence[str],
                 bind: Optional[Tuple[str, int]] = None) -> None:
        self.config = child_config
        self.dirs = [Path(d).resolve() for d in dirs] or [Path.cwd()]
        self.bind = bind
        self.should_exit = threading.Event()
        self.mtimes: Dict[Path, float] = {}
        self.proc: Optional[subprocess.Popen] = None

    # files
    def _py_files(self) -> List[Path]:
        out: List[Path] = []
        for d in self.dirs:
            for root, dirnames, files in os.walk(d):
                dirnames[:] = [n for n in dirnames if n not in _SKIP_DIRS and not n.startswith(".")]
                out.extend(Path(root, f) for f in files if f.endswith(".py"))
        return out

    def _snapshot(self) -> None:
        self.mtimes = {}
        for f in self._py_files():
            try:
                self.mtimes[f] = f.stat().st_mtime
            except OSError:
                pass

    def changed(self) -> List[Path]:
        """Files created or modified since the last snapshot (deleted ones too)."""
        seen = set()
        changes: List[Path] = []
        for f in self._py_files():
            seen.add(f)
            try:
                m = f.stat().st_mtime
            except OSError:
                continue
            old = self.mtimes.get(f)
            if old is None or m != old:
                changes.append(f)
        changes.extend(f for f in self.mtimes if f not in seen)
        return changes

    # child process
    def _start(self) -> None:
        env = dict(os.environ)
        env[CHILD_ENV] = json.dumps(dict(self.config, parent_pid=os.getpid()))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from fastrapi._reload import child_main; child_main()"], env=env)

    def _stop(self) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        try:
            p.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            p.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("Server process [%d] did not stop within %.0f s; killing it",
                           p.pid, STOP_TIMEOUT)
            p.kill()
            p.wait()

    def _port_free(self) -> bool:
        if not self.bind or not self.bind[1]:
            return True
        host, port = self.bind
        try:
            infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
            fam, typ, proto, _, addr = infos[0]
            with socket.socket(fam, typ, proto) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(addr)
        except OSError as e:
            logger.error("%s", e)
            return False
        return True

    def _on_signal(self, signum: int, frame: Optional[FrameType]) -> None:
        self.should_exit.set()

    def run(self) -> int:
        """Supervise until SIGINT/SIGTERM; returns the process exit code."""
        if not self._port_free():
            return 1
        logger.info("Will watch for changes in these directories: %s",
                    sorted(str(d) for d in self.dirs))
        logger.info("Started reloader process [%d] using %s", os.getpid(), self.name)
        saved = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        code = 0
        reloaded = False
        reported_exit = False
        try:
            self._snapshot()
            self._start()
            while not self.should_exit.wait(POLL_INTERVAL):
                changes = self.changed()
                if changes:
                    logger.warning("%s detected changes in %s. Reloading...", self.name,
                                   ", ".join(_display(p) for p in changes))
                    self._stop()
                    self._snapshot()
                    self._start()
                    reloaded, reported_exit = True, False
                    continue
                assert self.proc is not None
                rc = self.proc.poll()
                if rc is None or reported_exit:
                    continue
                if not reloaded:
                    # the app never came up (or stopped by itself) before any edit:
                    # fail like `fastapi dev` does on a broken app
                    code = rc if rc > 0 else (0 if rc == 0 else 1)
                    break
                logger.error("Server process [%d] exited with code %d; waiting for file "
                             "changes before restarting", self.proc.pid, rc)
                reported_exit = True
        finally:
            self._stop()
            for s, h in saved.items():
                signal.signal(s, h)
            logger.info("Stopping reloader process [%d]", os.getpid())
        return code


def _display(path: Path) -> str:
    try:
        return f"'{path.relative_to(Path.cwd())}'"
    except ValueError:
        return f"'{path}'"


# ---- app.serve(..., reload=True)

def import_string_for(app: Any, frame: Optional[FrameType]) -> Tuple[str, List[str]]:
    """``module:attr`` (and sys.path to use) that re-imports ``app`` in a fresh
    process, derived from the frame that called ``app.serve``."""
    hint = ("app.serve(reload=True) re-imports the app in a fresh process, so the app must "
            "be a module-level variable of an importable .py file (run that file, or use "
            "`fastrapi dev path/to/file.py`)")
    if frame is None:
        raise RuntimeError(hint)
    g = frame.f_globals
    names = [k for k, v in g.items() if v is app]
    if not names:
        raise RuntimeError(f"{hint}: the app is not a module-level variable of "
                           f"{g.get('__name__', '?')!r}")
    attr = "app" if "app" in names else ("api" if "api" in names else names[0])
    modname = g.get("__name__")
    sys_path = list(sys.path)
    if modname == "__main__":
        spec = g.get("__spec__")
        if spec is not None and spec.name and spec.name != "__main__":
            modname = spec.name                     # python -m pkg.module
        else:
            f = g.get("__file__")
            if not f or not f.endswith(".py"):
                raise RuntimeError(f"{hint}: the __main__ module has no .py file")
            from .cli import module_data_from_path
            modname, extra = module_data_from_path(Path(f))
            sys_path.insert(0, str(extra))
    elif not modname or modname not in sys.modules:
        raise RuntimeError(f"{hint}: module {modname!r} is not importable")
    return f"{modname}:{attr}", sys_path


def serve_reload(app: Any, frame: Optional[FrameType], host: str, port: int, workers: int,
                 serve_kwargs: Dict[str, Any]) -> None:
    """Implementation of ``app.serve(host, port, reload=True, ...)``. (In the
    child, a serve() met while importing the module is skipped by the cli.)"""
    import_string, sys_path = import_string_for(app, frame)
    if workers > 1:
        logger.warning('"workers" flag is ignored when reloading is enabled.')
    kwargs = dict(serve_kwargs, host=host, port=port, workers=1)
    cfg = {"import_string": import_string, "sys_path": sys_path, "serve": kwargs,
           "source": "app.serve(reload=True)"}
    code = StatReload(cfg, [os.getcwd()], bind=(host, port)).run()
    if code:
        raise SystemExit(code)
