"""Debian's nginx as reverse proxy and load balancer in front of two fastrapi
servers on loopback, with the proxy settings of docs/deploy.md (a generated
config in tmp_path; pid, logs and temp files there too; unprivileged port).

- requests spread over both servers;
- the X-Forwarded-For chain nginx builds is read by the default
  forwarded_allow_ips ("127.0.0.1" trusts nginx, so request.client is the
  client nginx saw, or the one a client-side proxy named before it);
- one server is stopped with SIGTERM in the middle of a bounded load and no
  request fails: its in-flight requests finish (connection: close) and
  nginx moves new ones to the other server (proxy_next_upstream)."""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from helpers import ROOT, free_port, wait_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = [
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (run-tests installs it)"),
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]

APP = """\
import os
from fastrapi import FastrAPI, Request
app = FastrAPI()

@app.get("/who")
def who(request: Request):
    return {"pid": os.getpid(), "client": request.client.host, "scheme": request.url.scheme,
            "host": request.headers.get("host")}
"""


def nginx_conf(tmp, port, upstreams):
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;"
                        for p in upstreams)
    user = "user root;" if os.geteuid() == 0 else ""  # workers must reach tmp_path
    return textwrap.dedent(f"""\
        {user}
        worker_processes 1;
        daemon off;
        pid {tmp}/nginx.pid;
        error_log {tmp}/error.log info;
        events {{ worker_connections 512; }}
        http {{
            access_log {tmp}/access.log;
            client_body_temp_path {tmp}/client_body;
            proxy_temp_path {tmp}/proxy;
            fastcgi_temp_path {tmp}/fastcgi;
            uwsgi_temp_path {tmp}/uwsgi;
            scgi_temp_path {tmp}/scgi;

            upstream fastrapi {{
        {servers}
                keepalive 16;
            }}
            server {{
                listen 127.0.0.1:{port};
                location / {{
                    proxy_pass http://fastrapi;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $host;
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    proxy_set_header X-Forwarded-Proto $scheme;
                    proxy_next_upstream error timeout http_502 http_503;
                    proxy_next_upstream_tries 3;
                    proxy_connect_timeout 2s;
                    proxy_read_timeout 30s;
                }}
            }}
        }}
        """)


class Backend:
    def __init__(self, tmp, port):
        self.port = port
        self.log = tmp / f"fastrapi-{port}.log"
        self._f = open(self.log, "w")
        src = APP + f'\napp.serve("127.0.0.1", {port}, access_log=False)\n'
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("FORWARDED_ALLOW_IPS", None)
        self.proc = subprocess.Popen([sys.executable, "-c", src], env=env, stdout=self._f,
                                     stderr=subprocess.STDOUT)
        wait_port(port, timeout=30, proc=self.proc)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._f.close()
        return self.proc.returncode


def ask(port, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        c.request("GET", "/who", headers=headers or {})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise AssertionError(f"status {r.status}: {body[:200]!r}")
        return json.loads(body)
    finally:
        c.close()


@pytest.fixture
def stack(tmp_path):
    ports = [free_port(), free_port()]
    backends = [Backend(tmp_path, p) for p in ports]
    nport = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf(tmp_path, nport, ports))
    test = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)],
                          capture_output=True, text=True, timeout=30)
    assert test.returncode == 0, test.stderr
    ng = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(nport, timeout=30, proc=ng)
        yield nport, backends
    finally:
        ng.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        try:
            ng.wait(20)
        except subprocess.TimeoutExpired:
            ng.kill()
            ng.wait(10)
        for b in backends:
            b.stop()


def test_nginx_spreads_load_and_survives_a_server_stopping(stack):
    nport, backends = stack
    pids = {b.proc.pid for b in backends}
    first = ask(nport, {"X-Forwarded-For": "203.0.113.50", "Host": "shop.example"})
    # nginx appended its peer (127.0.0.1, trusted by default): the client is
    # the untrusted hop before it; the Host header is passed through
    assert first["client"] == "203.0.113.50"
    assert first["scheme"] == "http" and first["host"] == "shop.example"
    assert ask(nport)["client"] == "127.0.0.1"

    results, lock, stop = [], threading.Lock(), threading.Event()

    def client():
        for _ in range(3000):  # bounded
            if stop.is_set():
                return
            try:
                item = (True, ask(nport)["pid"])
            except Exception as e:  # noqa: BLE001 -- every failure counts
                item = (False, repr(e))
            with lock:
                results.append(item)

    def wait_more(n, timeout=30):
        with lock:
            target = len(results) + n
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with lock:
                if len(results) >= target:
                    return
            time.sleep(0.02)
        raise AssertionError("the load made no progress")

    threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_more(200)
        with lock:
            spread = {v for ok, v in results if ok}
        assert spread == pids, "requests did not reach both servers"
        assert backends[0].stop() == 0  # SIGTERM mid-load: graceful
        with lock:
            mark = len(results)
        wait_more(300)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not any(t.is_alive() for t in threads)
    failures = [v for ok, v in results if not ok]
    assert failures == [], failures[:5]
    assert {v for _, v in results[mark:]} == {backends[1].proc.pid}
