"""Background tasks of a request that ends in an error, differential against
FastAPI: the ``BackgroundTasks`` a dependency or the endpoint filled join
only the endpoint's own response. A validation error (422), an
``HTTPException`` or an exception handler's answer runs none of them (the
handler's response runs its own ``background``). fastrapi ran them all
before; an email sent for a request that failed is the kind of bug this
catches. Same app on FastAPI + uvicorn, fastrapi's native server and
fastrapi under uvicorn."""
import time

import httpx
import pytest

from conftest import framework
from helpers import Uvicorn, wait_until


class Boom(Exception):
    pass


def make_app(fw, log):
    from starlette.background import BackgroundTask

    def queue(tasks: fw.BackgroundTasks):
        tasks.add_task(log.append, "dependency task")

    def version(v: int = 1):
        return v

    app = fw.FastAPI(dependencies=[fw.Depends(queue)])

    @app.exception_handler(Boom)
    async def boom(request, exc):
        return fw.responses.JSONResponse({"boom": True}, status_code=418,
                                         background=BackgroundTask(log.append, "handler task"))

    @app.get("/ok")
    def ok(tasks: fw.BackgroundTasks, v: int = fw.Depends(version)):
        tasks.add_task(log.append, "endpoint task")
        return {"v": v}

    @app.get("/http-error")
    def http_error(tasks: fw.BackgroundTasks):
        tasks.add_task(log.append, "endpoint task")
        raise fw.HTTPException(409, "conflict")

    @app.get("/handled")
    async def handled(tasks: fw.BackgroundTasks):
        tasks.add_task(log.append, "endpoint task")
        raise Boom()

    @app.post("/body")
    def body(item: dict, tasks: fw.BackgroundTasks):
        tasks.add_task(log.append, "endpoint task")
        return item

    return app


@pytest.fixture(scope="module")
def servers():
    logs = {k: [] for k in ("fastapi", "native", "asgi")}
    fa = Uvicorn(make_app(framework("fastapi"), logs["fastapi"]))
    fr = make_app(framework("fastrapi"), logs["native"])._start_background("127.0.0.1", 0)
    asgi = Uvicorn(make_app(framework("fastrapi"), logs["asgi"]))
    yield [(fa.port, logs["fastapi"]), (fr.port, logs["native"]), (asgi.port, logs["asgi"])]
    fa.close()
    fr.stop()
    asgi.close()


CASES = [
    ("GET", "/ok", None, 200, ["dependency task", "endpoint task"]),
    ("GET", "/ok?v=x", None, 422, []),
    ("GET", "/http-error", None, 409, []),
    ("GET", "/handled", None, 418, ["handler task"]),
    ("POST", "/body", b"{\"a\": 1}", 200, ["dependency task", "endpoint task"]),
    ("POST", "/body", b"[1]", 422, []),
    ("POST", "/body", b"{broken", 422, []),
]


@pytest.mark.parametrize("method,path,content,status,tasks", CASES,
                         ids=[f"{m}-{p}-{s}" for m, p, _, s, _ in CASES])
def test_error_answers_run_no_dependency_tasks(servers, method, path, content, status, tasks):
    for port, log in servers:
        log.clear()
        r = httpx.request(method, f"http://127.0.0.1:{port}{path}", content=content,
                          headers={"content-type": "application/json"} if content else None)
        assert r.status_code == status
        if tasks:
            wait_until(lambda: len(log) >= len(tasks), 5)
        time.sleep(0.05)  # a task that should not run has had its chance
        assert log == tasks


def _bg_app(fw, log):
    app = fw.FastAPI()

    def boom():
        log.append("boom ran")
        raise ValueError("bg boom")

    def slow():
        import time
        time.sleep(0.3)
        log.append("slow ran")

    def teardown_fails():
        yield "v"
        raise KeyError("teardown boom")

    @app.get("/boom")
    def r(bg: fw.BackgroundTasks):
        bg.add_task(boom)
        return {"ok": 1}

    @app.get("/slow")
    def s(bg: fw.BackgroundTasks):
        bg.add_task(slow)
        return {"slow": 1}

    @app.get("/teardown")
    def t(v=fw.Depends(teardown_fails)):
        return {"v": v}

    return app


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_the_testclient_waits_for_background_work_and_raises_its_errors(name):
    """Starlette's TestClient returns once the background tasks ran and
    raises what they (or a teardown after the response) raised; fastrapi's
    returned at the response and only logged them."""
    from conftest import framework
    if name == "fastapi":
        from fastapi.testclient import TestClient as TC
    else:
        from fastrapi.testclient import TestClient as TC
    log = []
    app = _bg_app(framework(name), log)
    with TC(app) as client:
        with pytest.raises(ValueError, match="bg boom"):
            client.get("/boom")
        assert client.get("/slow").json() == {"slow": 1}
        assert log == ["boom ran", "slow ran"]  # the slow task ran before get() returned
        with pytest.raises(KeyError, match="teardown boom"):
            client.get("/teardown")
    with TC(app, raise_server_exceptions=False) as client:
        assert client.get("/boom").json() == {"ok": 1}
        assert client.get("/teardown").json() == {"v": "v"}
