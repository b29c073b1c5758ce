"""Behind a proxy, differential: one app, served by real FastAPI under uvicorn
and by fastrapi's native server (`fastrapi run`) with the same options
(--root-path, --proxy-headers / --no-proxy-headers, --forwarded-allow-ips),
asked the same requests (X-Forwarded-For / -Proto / Host variants) over
real sockets: request.client, request.url, request.base_url, url_for,
scope["root_path"], the redirect_slashes location, OpenAPI `servers` and the
docs page must be the same. The peer is always 127.0.0.1 (loopback)."""
import os
import signal
import subprocess
import sys
import textwrap

import httpx
import pytest

from helpers import ROOT, free_port, raw_request, wait_port

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
pytest.importorskip("uvicorn")

APP = """\
import os
if os.environ["FW"] == "fastapi":
    from fastapi import FastAPI, Request
else:
    from fastrapi import FastAPI, Request

kw = {"root_path": os.environ["APP_ROOT_PATH"]} if os.environ.get("APP_ROOT_PATH") else {}
app = FastAPI(**kw)


@app.get("/who")
def who(request: Request):
    c = request.client
    return {
        "client": [c.host, c.port if c.host != "127.0.0.1" else "peer"] if c else None,
        "scheme": request.url.scheme,
        "root_path": request.scope.get("root_path"),
        "path": request.scope["path"],
        "raw_path": request.scope.get("raw_path", b"").decode(),
        "url": str(request.url),
        "base_url": str(request.base_url),
        "url_for": str(request.url_for("item", item_id=3)),
    }


@app.get("/items/{item_id}")
def item(item_id: int):
    return item_id


@app.get("/list/")
def listing():
    return []
"""

PROXY = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}
REQUESTS = [
    ("/who", {}),
    ("/who", PROXY),
    ("/who", {"x-forwarded-for": "198.51.100.2:5050, 10.1.2.3, 127.0.0.1"}),
    ("/who", {"x-forwarded-for": "[2001:db8::7]:8443", "x-forwarded-proto": "wss"}),
    ("/who", {"x-forwarded-for": "", "x-forwarded-proto": "ftp"}),
    ("/who", dict(PROXY, host="api.example.com")),
    ("/who?q=1", dict(PROXY, host="api.example.com:8443")),
    ("/list", dict(PROXY, host="api.example.com")),
    ("/list?x=1", {}),
    ("/openapi.json", {}),
    ("/docs", {}),
]

CONFIGS = [
    pytest.param([], id="defaults"),
    pytest.param(["--root-path", "/api/v1"], id="root-path"),
    pytest.param(["--forwarded-allow-ips", "*"], id="allow-all"),
    pytest.param(["--forwarded-allow-ips", "10.0.0.1, 192.168.0.0/16"], id="peer-untrusted"),
    pytest.param(["--forwarded-allow-ips", "127.0.0.0/8,10.0.0.0/8"], id="networks"),
    pytest.param(["--no-proxy-headers"], id="proxy-headers-off"),
    pytest.param(["--root-path", "/api", "--forwarded-allow-ips", "*"], id="root-path-allow-all"),
    pytest.param(["--app-root-path", "/app"], id="app-root-path"),
]


class Served:
    def __init__(self, fw, opts, tmp_path):
        opts = list(opts)
        env = dict(os.environ, FW=fw, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("FORWARDED_ALLOW_IPS", None)
        if "--app-root-path" in opts:
            i = opts.index("--app-root-path")
            env["APP_ROOT_PATH"] = opts[i + 1]
            del opts[i:i + 2]
        self.port = free_port()
        if fw in ("fastapi", "fastrapi-asgi"):  # fastrapi's ASGI face under uvicorn too
            env["FW"] = fw.split("-")[0]
            cmd = [sys.executable, "-m", "uvicorn", "main:app", "--port", str(self.port),
                   "--no-access-log", "--log-level", "warning"] + opts
        else:
            cmd = [sys.executable, "-m", "fastrapi", "run", "main.py", "--host", "127.0.0.1",
                   "--port", str(self.port), "--no-access-log", "--log-level", "warning",
                   "--no-compat"] + opts
        self.log = tmp_path / f"{fw}.log"
        self._f = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, cwd=str(tmp_path), env=env, stdout=self._f,
                                     stderr=subprocess.STDOUT)
        try:
            wait_port(self.port, timeout=30, proc=self.proc)
        except Exception:
            self.stop()
            raise AssertionError(f"{fw} did not start:\n" + self.log.read_text())

    def ask(self, path, headers):
        headers = dict({"host": "svc.local"}, **headers)  # not the (differing) port
        r = httpx.get(f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=10)
        ct = r.headers.get("content-type", "")
        return (r.status_code, r.headers.get("location"),
                r.json() if ct.startswith("application/json") else r.text)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._f.close()
        return self.proc.returncode


@pytest.mark.parametrize("server", ["fastrapi", "fastrapi-asgi"])
@pytest.mark.parametrize("opts", CONFIGS)
def test_same_as_fastapi_under_uvicorn(opts, server, tmp_path):
    (tmp_path / "main.py").write_text(APP)
    fa = Served("fastapi", opts, tmp_path)
    try:
        fr = Served(server, opts, tmp_path)
        try:
            for path, headers in REQUESTS:
                want = fa.ask(path, headers)
                got = fr.ask(path, headers)
                assert got == want, (path, headers)
        finally:
            # uvicorn re-raises the SIGTERM it handled once it has shut down
            assert fr.stop() in ((0, -signal.SIGTERM) if server.endswith("asgi") else (0,)), \
                fr.log.read_text()
    finally:
        fa.stop()


def test_answers_are_not_trivially_equal(tmp_path):
    """The options change the answers (the comparison above has teeth)."""
    (tmp_path / "main.py").write_text(APP)
    seen = {}
    for name, opts in (("off", ["--no-proxy-headers"]), ("on", ["--root-path", "/r"])):
        s = Served("fastrapi", opts, tmp_path)
        try:
            seen[name] = s.ask("/who", dict(PROXY, host="h.example"))[2]
            seen[name + "-redirect"] = s.ask("/list", dict(PROXY, host="h.example"))[1]
        finally:
            s.stop()
    assert seen["off"]["client"] == ["127.0.0.1", "peer"] and seen["off"]["scheme"] == "http"
    assert seen["on"]["client"] == ["203.0.113.9", 0] and seen["on"]["scheme"] == "https"
    assert seen["on"]["url"] == "https://h.example/r/who"
    assert seen["on"]["url_for"] == "https://h.example/r/items/3"
    assert seen["off-redirect"] == "http://h.example/list/"
    assert seen["on-redirect"] == "https://h.example/r/list/"


def _raw(port, data):
    return raw_request(port, data)


def test_serve_kwargs(tmp_path):
    """app.serve(root_path=..., forwarded_allow_ips=[...]) without the CLI."""
    port = free_port()
    src = APP.replace('os.environ["FW"] == "fastapi"', "False") + textwrap.dedent(f"""
        app.serve("127.0.0.1", {port}, access_log=False, root_path="/p",
                  forwarded_allow_ips=["10.0.0.0/8", "127.0.0.1"])
        """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-c", src], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, proc=proc)
        resp = _raw(port, b"GET /who HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
                          b"X-Forwarded-For: 192.0.2.1, 10.9.9.9\r\n\r\n")
        assert b'"client":["192.0.2.1",0]' in resp
        assert b'"root_path":"/p"' in resp and b'"url":"http://h/p/who"' in resp
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
