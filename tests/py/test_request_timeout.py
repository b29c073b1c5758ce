"""FastrAPI's constructor option request_timeout (seconds), decided by the
engine (fr_config.request_timeout_ms): on the native server a handler that
has not answered in time gets 504 {"detail":"Gateway Timeout"} on a
connection that stays usable; the handler runs on to completion (a `def`
cannot be killed; an `async def` is not cancelled either, see README) and
its late answer is dropped without a traceback (its background task
still runs); fast routes are untouched;
nothing of the timed-out request is kept once its handler returns."""
import asyncio
import gc
import threading
import time
import weakref

import httpx
import pytest

from fastrapi import FastrAPI
from fastrapi.responses import JSONResponse
from starlette.background import BackgroundTask

TIMEOUT = 0.3  # seconds; every wait below is bounded and much longer


class Late(JSONResponse):
    """The slow handlers' answer: weakly referenced to prove it is freed."""


def make(**kw):
    app = FastrAPI(**kw)
    st = {"release": threading.Event(), "done": threading.Event(), "refs": [], "bg": threading.Event()}

    @app.get("/fast")
    def fast():
        return {"ok": True}

    @app.get("/afast")
    async def afast():
        await asyncio.sleep(0)
        return {"ok": "async"}

    @app.get("/slow")
    def slow():
        st["release"].wait(10)
        r = Late({"late": True}, background=BackgroundTask(st["bg"].set))
        st["refs"].append(weakref.ref(r))
        st["done"].set()
        return r

    @app.get("/aslow")
    async def aslow():
        end = time.monotonic() + 10
        while not st["release"].is_set() and time.monotonic() < end:
            await asyncio.sleep(0.01)
        r = Late({"late": "async"}, background=BackgroundTask(st["bg"].set))
        st["refs"].append(weakref.ref(r))
        st["done"].set()
        return r

    return app, st


@pytest.fixture
def served():
    app, st = make(request_timeout=TIMEOUT)
    run = app._start_background("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{run.port}", st
    finally:
        st["release"].set()
        run.stop()


def _late_answer_dropped(client, base, st, capfd):
    st["release"].set()
    assert st["done"].wait(10), "the handler was not left to finish"
    assert st["bg"].wait(10), "the late answer's background task did not run"
    # the late answer goes nowhere: the same connection answers the next request
    r = client.get(base + "/fast")
    assert r.status_code == 200 and r.json() == {"ok": True}
    # and it is not kept: its response object is freed once the engine drops it
    end = time.monotonic() + 5
    while any(ref() is not None for ref in st["refs"]) and time.monotonic() < end:
        gc.collect()
        time.sleep(0.02)
    assert st["refs"] and all(ref() is None for ref in st["refs"])
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Error" not in err


@pytest.mark.parametrize("path", ["/slow", "/aslow"])
def test_overrunning_handler_gets_504(served, path, capfd, caplog):
    base, st = served
    with httpx.Client(timeout=10) as client:
        t0 = time.monotonic()
        r = client.get(base + path)
        took = time.monotonic() - t0
        assert r.status_code == 504
        assert r.json() == {"detail": "Gateway Timeout"}
        assert r.headers["content-type"] == "application/json"
        assert r.headers.get("connection") != "close"
        assert took >= TIMEOUT * 0.8
        assert not st["done"].is_set()  # the handler is still running
        _late_answer_dropped(client, base, st, capfd)
    assert not [rec for rec in caplog.records if rec.levelname in ("ERROR", "CRITICAL")]


def test_fast_routes_unaffected(served):
    base, st = served
    with httpx.Client(timeout=10) as client:
        for _ in range(3):
            assert client.get(base + "/fast").json() == {"ok": True}
            assert client.get(base + "/afast").json() == {"ok": "async"}
            time.sleep(TIMEOUT * 1.5)  # an idle keep-alive wait past the deadline is no overrun
        r = client.get(base + "/fast")
        assert r.status_code == 200


def test_several_timeouts_at_once(served, capfd):
    """Concurrent overruns each get their 504; all handlers finish later and
    nothing of theirs is kept."""
    base, st = served
    out = []

    def one(path):
        with httpx.Client(timeout=10) as c:
            out.append(c.get(base + path).status_code)

    threads = [threading.Thread(target=one, args=(p,)) for p in ["/slow", "/aslow"] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert out == [504] * 6
    st["release"].set()
    with httpx.Client(timeout=10) as client:
        end = time.monotonic() + 10
        while len(st["refs"]) < 6 and time.monotonic() < end:
            time.sleep(0.02)
        assert len(st["refs"]) == 6
        _late_answer_dropped(client, base, st, capfd)


def test_no_timeout_by_default():
    app, st = make()
    assert app.request_timeout is None
    run = app._start_background("127.0.0.1", 0)
    try:
        threading.Timer(TIMEOUT * 3, st["release"].set).start()
        r = httpx.get(f"http://127.0.0.1:{run.port}/slow", timeout=10)
        assert r.status_code == 200 and r.json() == {"late": True}
    finally:
        st["release"].set()
        run.stop()


@pytest.mark.parametrize("bad", [-1, "3", True, float("nan")])
def test_bad_value_fails_at_construction(bad):
    with pytest.raises(ValueError):
        FastrAPI(request_timeout=bad)
