"""Shared helpers: run an app in a subprocess, raw HTTP, wait for ports."""
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=30.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} not listening")


def spawn(code, port, env=None):
    """Start `code` (python source that serves on `port`) in a subprocess."""
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    e.update(env or {})
    proc = subprocess.Popen([sys.executable, "-c", code], env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, proc=proc)
    except Exception:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        raise RuntimeError(f"server failed: {out}\n{err}")
    return proc


def raw_request(port, data, timeout=10.0):
    """Send raw bytes, return the whole response (until close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


# How a differential test serves one app on each framework: FastAPI on
# uvicorn, fastrapi on its native server.
SERVE = {
    "fastapi": ("import uvicorn\nuvicorn.run(app, host='127.0.0.1', port={port}, "
                "log_level='warning')\n"),
    "fastrapi": "app.serve('127.0.0.1', {port}, access_log=False)\n",
}


def serve_both(app_code):
    """Generator for a pytest fixture: app_code(name) is python source that
    defines `app` for framework `name`; yields {name: port} while both
    servers run, then stops them and fails if fastrapi logged a traceback."""
    import signal
    procs = {}
    try:
        for name in ("fastapi", "fastrapi"):
            port = free_port()
            procs[name] = (spawn(app_code(name) + SERVE[name].format(port=port), port), port)
        yield {name: port for name, (_, port) in procs.items()}
    finally:
        errs = {}
        for name, (proc, _) in procs.items():
            proc.send_signal(signal.SIGINT)
            try:
                errs[name] = proc.communicate(timeout=20)[1]
            except subprocess.TimeoutExpired:
                proc.kill()
                errs[name] = proc.communicate()[1]
    assert "Traceback" not in errs.get("fastrapi", ""), errs["fastrapi"]
