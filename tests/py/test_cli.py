"""The command line (`fastrapi run|dev`, `python -m fastrapi`), auto-reload and
the FastAPI import switch (`fastrapi.compat`): real subprocesses, real sockets
on 127.0.0.1, every wait bounded."""
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from helpers import ROOT, free_port, wait_port

# Every test here stops servers with SIGTERM/SIGINT and checks process groups;
# Windows has neither. CI (Linux) never skips these.
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

APP = """\
from fastrapi import FastrAPI
app = FastrAPI()

@app.get("/")
def root():
    return {"v": 1}
"""


def _env():
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    e.pop("PORT", None)
    e.pop("WEB_CONCURRENCY", None)
    e["PYTHONUNBUFFERED"] = "1"
    return e


def _script():
    """The installed `fastrapi` console script (not a pyenv shim)."""
    p = os.path.join(os.path.dirname(sys.executable), "fastrapi")
    return p if os.path.exists(p) else shutil.which("fastrapi")


def _cmd(how):
    if how == "script":
        s = _script()
        if s is None:
            pytest.fail("fastrapi console script not installed: ./run-tests installs it (pip install -e .)")
        return [s]
    return [sys.executable, "-m", "fastrapi"]


def _write(d, files):
    for name, src in files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(src))


class Server:
    """A `fastrapi ...` subprocess whose stderr goes to a file (no pipe to fill)."""

    def __init__(self, args, cwd, port, how="module", wait=True):
        self.port = port
        self.log = cwd / f"server-{port}.log"
        self._f = open(self.log, "w")
        self.proc = subprocess.Popen(_cmd(how) + list(args), cwd=str(cwd), env=_env(),
                                     stdout=self._f, stderr=subprocess.STDOUT)
        if wait:
            try:
                wait_port(port, timeout=30, proc=self.proc)
            except Exception:
                self.kill()
                raise AssertionError("server did not start:\n" + self.text())

    def text(self):
        with open(self.log) as f:
            return f.read()

    def get(self, path="/"):
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=10)

    def server_pids(self):
        return [int(p) for p in re.findall(r"Started server process \[(\d+)\]", self.text())]

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        finally:
            self.kill()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._f.close()


@pytest.fixture
def servers():
    started = []
    yield started
    for s in started:
        s.kill()


def _start(servers, *a, **kw):
    s = Server(*a, **kw)
    servers.append(s)
    return s


def _gone(pid):
    """True when no live process has this pid (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:
        return True


def _wait_gone(pid, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return False


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _wait_for(pred, timeout=30, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            v = pred()
        except Exception:
            v = None
        if v:
            return v
        time.sleep(interval)
    return None


def _run(args, cwd, how="module", timeout=60):
    return subprocess.run(_cmd(how) + list(args), cwd=str(cwd), env=_env(),
                          capture_output=True, text=True, timeout=timeout)


# ---- packaging

def test_console_script_entry_point():
    eps = importlib.metadata.entry_points(group="console_scripts", name="fastrapi")
    assert [ep.value for ep in eps] == ["fastrapi.cli:console_main"]
    assert _script() is not None


def test_help_lists_commands_and_options(tmp_path):
    r = _run(["--help"], tmp_path, how="script")
    assert r.returncode == 0 and "run" in r.stdout and "dev" in r.stdout
    r = _run(["run", "--help"], tmp_path)
    assert r.returncode == 0
    for opt in ("--host", "--port", "--workers", "--reload", "--reload-dir", "--root-path",
                "--proxy-headers", "--no-proxy-headers", "--forwarded-allow-ips", "--log-level",
                "--access-log", "--no-access-log", "--app", "--threads", "--no-compat"):
        assert opt in r.stdout, opt
    assert "0.0.0.0" in r.stdout
    r = _run(["dev", "--help"], tmp_path)
    assert r.returncode == 0 and "127.0.0.1" in r.stdout


# ---- run

def test_run_path_with_console_script(tmp_path, servers):
    _write(tmp_path, {"main.py": APP})
    port = free_port()
    s = _start(servers, ["run", "main.py", "--host", "127.0.0.1", "--port", str(port)],
               tmp_path, port, how="script")
    r = s.get()
    assert r.status_code == 200 and r.json() == {"v": 1}
    assert s.stop() == 0
    log = s.text()
    assert "INFO:     Using import string: main:app" in log
    assert '"GET / HTTP/1.1" 200' in log  # access log on by default
    assert "Finished server process" in log


def test_python_m_run_auto_discovers_main_py(tmp_path, servers):
    _write(tmp_path, {"main.py": APP})
    port = free_port()
    s = _start(servers, ["run", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
               tmp_path, port)
    assert s.get().json() == {"v": 1}
    assert s.stop() == 0
    log = s.text()
    assert "Using import string: main:app (auto-discovered)" in log
    assert '"GET / HTTP/1.1"' not in log


def test_port_from_env(tmp_path):
    _write(tmp_path, {"main.py": APP})
    port = free_port()
    env = _env()
    env["PORT"] = str(port)
    with open(tmp_path / "log", "w") as f:
        p = subprocess.Popen([sys.executable, "-m", "fastrapi", "run", "--host", "127.0.0.1"],
                             cwd=str(tmp_path), env=env, stdout=f, stderr=subprocess.STDOUT)
        try:
            wait_port(port, timeout=30, proc=p)
            assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).json() == {"v": 1}
            p.send_signal(signal.SIGTERM)
            assert p.wait(30) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(10)


def test_default_package_app_main_with_relative_import(tmp_path, servers):
    # app/main.py inside a package: imported as app.main with tmp_path on sys.path
    _write(tmp_path, {
        "app/__init__.py": "",
        "app/routes.py": """\
            from fastrapi import APIRouter
            router = APIRouter()
            @router.get("/")
            def root():
                return {"where": __name__}
            """,
        "app/main.py": """\
            from fastrapi import FastrAPI
            from .routes import router
            api = FastrAPI()
            api.include_router(router)
            """,
    })
    port = free_port()
    s = _start(servers, ["run", "--host", "127.0.0.1", "--port", str(port)], tmp_path, port)
    assert s.get().json() == {"where": "app.routes"}
    assert "Using import string: app.main:api" in s.text()
    assert s.stop() == 0


def test_module_colon_app_form(tmp_path, servers):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/web.py": """\
            from fastrapi import FastrAPI
            application = FastrAPI()
            @application.get("/")
            def root():
                return {"form": "module:app"}
            """,
    })
    port = free_port()
    s = _start(servers, ["run", "pkg.web:application", "--host", "127.0.0.1", "--port", str(port)],
               tmp_path, port)
    assert s.get().json() == {"form": "module:app"}
    assert s.stop() == 0


def test_app_option_picks_the_variable(tmp_path, servers):
    _write(tmp_path, {"two.py": """\
        from fastrapi import FastrAPI
        app = FastrAPI()
        other = FastrAPI()
        @app.get("/")
        def a():
            return "app"
        @other.get("/")
        def b():
            return "other"
        """})
    port = free_port()
    s = _start(servers, ["run", "two.py", "--app", "other", "--host", "127.0.0.1",
                         "--port", str(port)], tmp_path, port)
    assert s.get().json() == "other"
    assert s.stop() == 0


def test_module_level_serve_call_is_skipped(tmp_path, servers):
    # the seed's documented style: app.serve() at module level, no __main__ guard
    busy = free_port()
    _write(tmp_path, {"main.py": APP + f'\napp.serve("127.0.0.1", {busy})\n'})
    port = free_port()
    s = _start(servers, ["run", "--host", "127.0.0.1", "--port", str(port)], tmp_path, port)
    assert s.get().json() == {"v": 1}
    assert "called app.serve() while being imported; skipped" in s.text()
    assert s.stop() == 0


def test_workers_2_serve(tmp_path, servers):
    _write(tmp_path, {"main.py": """\
        import os
        from fastrapi import FastrAPI
        app = FastrAPI()
        @app.get("/")
        def root():
            return os.getpid()
        """})
    port = free_port()
    s = _start(servers, ["run", "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
                         "--no-access-log"], tmp_path, port)
    pids = {s.get().json() for _ in range(20)}
    kids = _wait_for(lambda: len(_children(s.proc.pid)) == 2 and _children(s.proc.pid), timeout=20)
    assert kids, "expected two worker processes"
    assert pids <= set(kids)
    assert "with 2 workers" in s.text()
    assert s.stop() == 0
    for k in kids:
        assert _wait_gone(k), f"worker {k} left behind"


def test_root_path_and_proxy_options_are_served(tmp_path, servers):
    _write(tmp_path, {"main.py": APP + """
from fastrapi import Request

@app.get("/who")
def who(request: Request):
    return [request.client.host, request.url.scheme, request.scope["root_path"],
            str(request.url), str(request.url_for("who"))]
"""})
    port = free_port()
    s = _start(servers, ["run", "--host", "127.0.0.1", "--port", str(port), "--root-path", "/api",
                         "--proxy-headers", "--forwarded-allow-ips", "*"], tmp_path, port)
    spec = s.get("/openapi.json").json()
    assert spec.get("servers") == [{"url": "/api"}]
    r = httpx.get(f"http://127.0.0.1:{port}/who", timeout=10,
                  headers={"x-forwarded-for": "203.0.113.4", "x-forwarded-proto": "https",
                           "host": "example.com"})
    assert r.json() == ["203.0.113.4", "https", "/api", "https://example.com/api/who",
                        "https://example.com/api/who"]
    assert s.stop() == 0
    warnings = [l for l in s.text().splitlines() if l.startswith("WARNING:")]
    assert warnings == []


def test_proxy_headers_off_and_default_allow_list(tmp_path, servers):
    _write(tmp_path, {"main.py": APP + """
from fastrapi import Request

@app.get("/who")
def who(request: Request):
    return [request.client.host, request.url.scheme]
"""})
    hdrs = {"x-forwarded-for": "203.0.113.4", "x-forwarded-proto": "https"}
    port = free_port()
    s = _start(servers, ["run", "--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers"],
               tmp_path, port)
    assert httpx.get(f"http://127.0.0.1:{port}/who", headers=hdrs).json() == ["127.0.0.1", "http"]
    assert s.stop() == 0
    port = free_port()  # default: 127.0.0.1 is trusted (uvicorn's default)
    s = _start(servers, ["run", "--host", "127.0.0.1", "--port", str(port)], tmp_path, port)
    assert httpx.get(f"http://127.0.0.1:{port}/who", headers=hdrs).json() == ["203.0.113.4",
                                                                              "https"]
    assert s.stop() == 0


# ---- discovery errors

@pytest.mark.parametrize("files,args,message", [
    ({}, [], "Could not find a default file to run, please provide an explicit path"),
    ({"main.py": APP}, ["nope.py"], "Path does not exist nope.py"),
    ({"main.py": "x = 1\n"}, [], "Could not find FastAPI app in module main, try using --app"),
    ({"main.py": APP}, ["--app", "missing"], "Could not find app name missing in main"),
    ({"main.py": APP + "x = 1\n"}, ["--app", "x"],
     "The app name x in main doesn't seem to be a FastAPI app"),
    ({}, ["nomod:app"], "Could not import module 'nomod'"),
    ({}, ["nomod:"], "Import string must be in the format module.submodule:app_name"),
    ({"main.py": APP}, ["main:app", "--app", "app"],
     "Cannot use --app together with a module:app import string"),
    ({"bad.py": "raise ValueError('boom in user code')\n"}, ["bad.py"], "boom in user code"),
    ({"real.py": "import fastapi\napp = fastapi.FastAPI()\n"}, ["real.py", "--no-compat"],
     "Could not find FastAPI app in module real (found an app of the real FastAPI"),
    ({"real.py": "import fastapi\napp = fastapi.FastAPI()\n"}, ["real.py", "--no-compat",
                                                              "--app", "app"],
     "The app name app in real doesn't seem to be a FastAPI app (found an app of the real"),
])
def test_discovery_errors(tmp_path, files, args, message):
    _write(tmp_path, files)
    r = _run(["run", "--port", str(free_port())] + args, tmp_path)
    assert r.returncode == 1, r.stderr
    assert "ERROR:    " in r.stderr
    assert message in r.stderr


def test_discovery_error_with_console_script(tmp_path):
    r = _run(["run"], tmp_path, how="script")
    assert r.returncode == 1
    assert "ERROR:    Could not find a default file to run" in r.stderr


# ---- dev / reload

def test_dev_reloads_after_edit_and_sigterm_stops_everything(tmp_path, servers):
    _write(tmp_path, {"main.py": APP})
    port = free_port()
    s = _start(servers, ["dev", "main.py", "--port", str(port)], tmp_path, port, how="script")
    assert s.get().json() == {"v": 1}
    first = _wait_for(s.server_pids, timeout=10)
    assert first and first[0] != s.proc.pid  # served by a child process
    (tmp_path / "main.py").write_text(APP.replace('{"v": 1}', '{"v": 2}'))
    assert _wait_for(lambda: s.get().json() == {"v": 2}, timeout=30), s.text()
    log = s.text()
    assert "Started reloader process" in log and "using StatReload" in log
    assert "WARNING:  StatReload detected changes in 'main.py'. Reloading..." in log
    assert _wait_gone(first[0]), "the old server process is still alive"
    pids = s.server_pids()
    assert len(pids) == 2
    assert s.stop(signal.SIGTERM) == 0
    assert _wait_gone(pids[-1]), "server process left behind after SIGTERM"
    assert "Stopping reloader process" in s.text()


def test_dev_ctrl_c_stops_cleanly(tmp_path, servers):
    _write(tmp_path, {"main.py": APP})
    port = free_port()
    s = _start(servers, ["dev", "--port", str(port)], tmp_path, port)
    assert s.get().json() == {"v": 1}
    pid = _wait_for(s.server_pids, timeout=10)[0]
    assert s.stop(signal.SIGINT) == 0
    assert _wait_gone(pid)


def test_dev_reload_dir_and_broken_edit_waits_for_fix(tmp_path, servers):
    _write(tmp_path, {"src/main.py": APP, "other/readme.txt": "x"})
    port = free_port()
    s = _start(servers, ["dev", "src/main.py", "--port", str(port), "--reload-dir", "src"],
               tmp_path, port)
    assert s.get().json() == {"v": 1}
    (tmp_path / "src/main.py").write_text("this is not python\n")
    assert _wait_for(lambda: "waiting for file changes before restarting" in s.text(),
                     timeout=30), s.text()
    assert s.proc.poll() is None  # the supervisor keeps watching
    (tmp_path / "src/main.py").write_text(APP.replace('{"v": 1}', '{"v": 3}'))
    assert _wait_for(lambda: s.get().json() == {"v": 3}, timeout=30), s.text()
    assert s.stop() == 0


def test_dev_with_broken_app_at_start_exits_1(tmp_path):
    _write(tmp_path, {"main.py": "x = 1\n"})
    r = _run(["dev", "--port", str(free_port())], tmp_path)
    assert r.returncode == 1
    assert "Could not find FastAPI app in module main" in r.stderr


def test_dev_server_child_exits_when_supervisor_is_killed(tmp_path, servers):
    _write(tmp_path, {"main.py": APP})
    port = free_port()
    s = _start(servers, ["dev", "--port", str(port)], tmp_path, port)
    pid = _wait_for(s.server_pids, timeout=10)[0]
    s.proc.kill()
    s.proc.wait(10)
    assert _wait_gone(pid, timeout=15), "orphaned server process"


@pytest.mark.parametrize("guarded", [True, False])
def test_serve_reload_true_reimports_the_callers_module(tmp_path, guarded):
    port = free_port()
    call = f'app.serve("127.0.0.1", {port}, reload=True)\n'
    src = APP + ('\nif __name__ == "__main__":\n    ' + call if guarded else "\n" + call)
    _write(tmp_path, {"server.py": src})
    log = open(tmp_path / "log", "w")
    p = subprocess.Popen([sys.executable, "server.py"], cwd=str(tmp_path), env=_env(),
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, timeout=30, proc=p)
        url = f"http://127.0.0.1:{port}/"
        assert httpx.get(url, timeout=10).json() == {"v": 1}
        (tmp_path / "server.py").write_text(src.replace('{"v": 1}', '{"v": 2}'))
        assert _wait_for(lambda: httpx.get(url, timeout=5).json() == {"v": 2}, timeout=30)
        text = (tmp_path / "log").read_text()
        assert "Using import string: server:app" in text
        pids = [int(x) for x in re.findall(r"Started server process \[(\d+)\]", text)]
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0
        assert pids and _wait_gone(pids[-1])
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
        log.close()


def test_serve_reload_true_needs_an_importable_module(tmp_path):
    code = "from fastrapi import FastrAPI\napp = FastrAPI()\napp.serve('127.0.0.1', 0, reload=True)\n"
    r = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=_env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "RuntimeError: app.serve(reload=True) re-imports the app in a fresh process" in r.stderr


# ---- the FastAPI import switch

FASTAPI_APP = """\
import fastapi
from fastapi import FastAPI, Depends
from fastapi.responses import JSONResponse

app = FastAPI()

def dep():
    return 41

@app.get("/")
def root(d: int = Depends(dep)):
    import fastrapi.responses
    return JSONResponse({"app_class": type(app).__module__, "fastapi": fastapi.__name__,
                         "response": JSONResponse is fastrapi.responses.JSONResponse,
                         "d": d + 1})
"""


def test_run_serves_fastapi_importing_app_on_fastrapi(tmp_path, servers):
    _write(tmp_path, {"main.py": FASTAPI_APP})
    port = free_port()
    s = _start(servers, ["run", "--host", "127.0.0.1", "--port", str(port)], tmp_path, port)
    assert s.get().json() == {"app_class": "fastrapi.applications", "fastapi": "fastrapi",
                              "response": True, "d": 42}
    assert s.stop() == 0


def test_dev_serves_fastapi_importing_app_on_fastrapi(tmp_path, servers):
    _write(tmp_path, {"main.py": FASTAPI_APP})
    port = free_port()
    s = _start(servers, ["dev", "--port", str(port)], tmp_path, port)
    assert s.get().json()["app_class"] == "fastrapi.applications"
    assert s.stop() == 0


def _py(code, tmp_path):
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=str(tmp_path),
                       env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r


def test_compat_switch_aliases_fastapi_to_fastrapi(tmp_path):
    r = _py("""\
        import json, warnings
        warnings.simplefilter("error")
        import fastrapi.compat
        import fastapi, fastrapi
        import fastapi.responses, fastrapi.responses
        from fastapi import FastAPI, Depends, APIRouter
        from fastapi.dependencies.utils import get_typed_signature
        import fastrapi.dependencies.utils as fdu
        out = {
            "same_module": fastapi is fastrapi,
            "same_class": FastAPI is fastrapi.FastAPI and Depends is fastrapi.Depends,
            "same_submodule": fastapi.responses is fastrapi.responses,
            "deep": get_typed_signature is fdu.get_typed_signature,
            "spec": fastrapi.__spec__.name,
        }
        try:
            import fastapi.no_such_module
        except ImportError as e:
            out["missing"] = [type(e).__name__, str(e), e.name]
        print(json.dumps(out))
        """, tmp_path)
    out = json.loads(r.stdout)
    assert out["same_module"] and out["same_class"] and out["same_submodule"] and out["deep"]
    assert out["spec"] == "fastrapi"
    kind, msg, name = out["missing"]
    assert kind == "ModuleNotFoundError" and name == "fastapi.no_such_module"
    assert "'fastrapi.no_such_module'" in msg


def test_compat_warns_once_when_real_fastapi_was_imported(tmp_path):
    r = _py("""\
        import json, warnings
        import fastapi as real
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            import fastrapi.compat
            fastrapi.compat.uninstall()
            fastrapi.compat.install()
        import fastapi, fastrapi
        print(json.dumps({"warnings": [str(x.category.__name__) for x in w],
                          "text": str(w[0].message) if w else "",
                          "now_fastrapi": fastapi is fastrapi,
                          "real_untouched": real.FastAPI.__module__}))
        """, tmp_path)
    out = json.loads(r.stdout)
    assert out["warnings"] == ["FastAPIAlreadyImportedWarning"]
    assert "two frameworks in one process" in out["text"]
    assert out["now_fastrapi"]
    assert out["real_untouched"] == "fastapi.applications"


def test_compat_uninstall_restores_real_fastapi(tmp_path):
    r = _py("""\
        import json
        import fastrapi.compat, fastrapi
        import fastapi as aliased
        fastrapi.compat.uninstall()
        import fastapi
        print(json.dumps([aliased is fastrapi, fastapi is fastrapi, fastapi.FastAPI.__module__]))
        """, tmp_path)
    assert json.loads(r.stdout) == [True, False, "fastapi.applications"]
