"""A real browser against the engine's CORS (and session) middleware: headless
Chromium loads a page served by one fastrapi app (origin A) whose script
makes credentialed cross-origin fetches to a fastrapi API on another port
(origin B): a PUT with JSON and a custom header (the browser sends a
preflight first), then a GET that only works if the session cookie the PUT
set was stored and sent back. The script writes what it got into the DOM;
`chromium --headless --dump-dom` prints it. A disallowed origin's page
must see the fetch fail. Skipped only when chromium is not installed
(run-tests installs it)."""
import json
import re
import shutil
import subprocess
import tempfile

import pytest

from fastrapi import FastrAPI, Request
from fastrapi.middleware import CORSMiddleware, SessionMiddleware
from fastrapi.responses import HTMLResponse
from helpers import access_log_records

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser",
                                                         "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
const api = %(api)s;
async function run() {
  const out = {};
  try {
    const r1 = await fetch(api + "/login", {
      method: "PUT", credentials: "include",
      headers: {"Content-Type": "application/json", "X-Token": "t0k"},
      body: JSON.stringify({user: "ada"})});
    out.put_status = r1.status;
    out.put = await r1.json();
    out.exposed = r1.headers.get("x-trace");
    const r2 = await fetch(api + "/me", {credentials: "include"});
    out.me_status = r2.status;
    out.me = await r2.json();
  } catch (e) {
    out.error = String(e);
  }
  document.getElementById("out").textContent = "RESULT" + JSON.stringify(out) + "END";
}
run();
</script></body></html>"""


def api_app(page_origin):
    app = FastrAPI()
    app.add_middleware(SessionMiddleware, secret_key="browser-secret")
    app.add_middleware(CORSMiddleware, allow_origins=[page_origin], allow_credentials=True,
                       allow_methods=["GET", "PUT"], allow_headers=["x-token", "content-type"],
                       expose_headers=["x-trace"])

    @app.put("/login")
    async def login(request: Request):
        body = await request.json()
        request.session["user"] = body["user"]
        request.session["token"] = request.headers.get("x-token")
        from fastrapi.responses import JSONResponse
        return JSONResponse({"logged_in": body["user"]}, headers={"x-trace": "tr-1"})

    @app.get("/me")
    def me(request: Request):
        return {"session": dict(request.session)}

    return app


def page_app(holder):
    app = FastrAPI()

    @app.get("/", response_class=HTMLResponse)
    def page():
        return PAGE % {"api": json.dumps(holder["api"])}

    return app


def dump_dom(url):
    profile = tempfile.mkdtemp(prefix="frchrome")
    try:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-dev-shm-usage", "--user-data-dir=" + profile,
               "--virtual-time-budget=15000", "--dump-dom", url]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return p.stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def result(dom):
    m = re.search(r"RESULT(.*?)END", dom, re.S)
    assert m, dom[-2000:]
    import html
    return json.loads(html.unescape(m.group(1)))


@pytest.fixture
def access_lines():
    with access_log_records() as lines:
        yield lines

def _serve(page_host, allowed_origin_for):
    holder = {}
    page = page_app(holder)
    page_run = page._start_background("127.0.0.1", 0)
    page_origin = f"http://{page_host}:{page_run.port}"
    api = api_app(allowed_origin_for(page_origin))
    api_run = api._start_background("127.0.0.1", 0, access_log=True)
    holder["api"] = f"http://127.0.0.1:{api_run.port}"
    return page_run, api_run, api, page_origin


def test_credentialed_fetch_with_preflight(access_lines):
    page_run, api_run, api, origin = _serve("127.0.0.1", lambda o: o)
    try:
        engine_mw = api._servers[-1].middleware_count()
        dom = dump_dom(origin + "/")
    finally:
        page_run.stop()
        api_run.stop()
    got = result(dom)
    assert got.get("error") is None, got
    assert got["put_status"] == 200 and got["put"] == {"logged_in": "ada"}
    assert got["exposed"] == "tr-1"  # Access-Control-Expose-Headers honoured by the browser
    assert got["me_status"] == 200
    # the session cookie the credentialed PUT set came back with the GET
    assert got["me"] == {"session": {"user": "ada", "token": "t0k"}}
    # the browser really sent a preflight, answered by the engine's CORS in C
    assert any('"OPTIONS /login HTTP/1.1" 200' in x for x in access_lines), access_lines
    assert api.middleware_stack is None and engine_mw == 2


def test_disallowed_origin_is_blocked_by_the_browser(access_lines):
    page_run, api_run, _, origin = _serve("127.0.0.1", lambda o: "https://elsewhere.example")
    try:
        dom = dump_dom(origin + "/")
    finally:
        page_run.stop()
        api_run.stop()
    got = result(dom)
    assert "error" in got and "put_status" not in got, got
    # the preflight was refused (400): the PUT itself never reached the API
    assert any('"OPTIONS /login HTTP/1.1" 400' in x for x in access_lines), access_lines
    assert not any('"PUT /login' in x for x in access_lines), access_lines
