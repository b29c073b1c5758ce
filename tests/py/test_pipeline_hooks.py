"""FastAPI's request-pipeline functions that plugins wrap at start-up.
sentry-sdk's FastAPI integration (enabled by itself whenever `fastapi`
imports) wraps `fastapi.routing.get_request_handler`; under
`fastrapi.compat` that module is fastrapi's, which had no such function, so
`sentry_sdk.init()` raised AttributeError and the app never started. The
functions exist now and work when called; fastrapi's own routes do not go
through them (the engine runs their plans), so Sentry reports errors
through its logging integration (README: "Not yet")."""
import asyncio
import subprocess
import sys
import textwrap
from typing import Optional

from pydantic import BaseModel

import fastrapi
from fastrapi import routing
from fastrapi.testclient import TestClient


class Out(BaseModel):
    a: int


def endpoint(i: int, q: Optional[str] = None):
    return {"a": i, "extra": q}


def test_get_request_handler_runs_the_endpoint():
    app = fastrapi.FastAPI()
    dep = routing.get_dependant(path="/x/{i}", call=endpoint)
    field = routing.APIRoute("/x/{i}", endpoint, response_model=Out).response_field
    handler = routing.get_request_handler(dep, response_field=field, dependency_overrides_provider=app)

    async def wrapped(request):
        return await handler(request)

    app.add_route("/x/{i}", wrapped, methods=["GET", "POST"])
    c = TestClient(app)
    r = c.get("/x/3?q=z")
    assert (r.status_code, r.json()) == (200, {"a": 3})  # the response model filtered "extra"
    r = c.post("/x/4")
    assert (r.status_code, r.json()) == (200, {"a": 4})
    r = c.get("/x/nope")  # its RequestValidationError reaches the app's handler
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "i"]


def test_run_endpoint_function():
    dep = routing.get_dependant(path="/x/{i}", call=endpoint)

    async def both():
        async def coro(i):
            return i * 2
        sync = await routing.run_endpoint_function(dependant=dep, values={"i": 5}, is_coroutine=False)
        adep = routing.get_dependant(path="/y/{i}", call=coro)
        return sync, await routing.run_endpoint_function(dependant=adep, values={"i": 5}, is_coroutine=True)
    assert asyncio.run(both()) == ({"a": 5, "extra": None}, 10)


SENTRY = textwrap.dedent('''
    import sys
    if sys.argv[1] == "compat":
        import fastrapi.compat  # noqa: F401
    import sentry_sdk
    from sentry_sdk.transport import Transport
    events = []

    class Recorder(Transport):
        def capture_envelope(self, envelope):
            for item in envelope.items:
                if item.type == "event":
                    events.append(item.payload.json)

        def flush(self, *a, **k):
            pass

    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=Recorder, traces_sample_rate=0)
    from fastrapi import FastAPI
    from fastrapi.testclient import TestClient
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def read(item_id: int):
        1 / 0

    r = TestClient(app, raise_server_exceptions=False).get("/items/1")
    sentry_sdk.flush()
    exc = [e["exception"]["values"][-1]["type"] for e in events if "exception" in e]
    print(r.status_code, exc)
''')


def test_sentry_sdk_starts_and_reports():
    for mode in ("compat", "plain"):
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", SENTRY, mode], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-3000:]
        assert out.stdout.strip().splitlines()[-1] == "500 ['ZeroDivisionError']", (mode, out.stdout, out.stderr)
