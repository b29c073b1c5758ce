"""How the asyncio bridge creates the Task an async handler runs in.

On the stock asyncio loop with no task factory and debug off the glue builds
`asyncio.Task(coro, loop=loop, context=ctx)` itself, as
BaseEventLoop.create_task does; a task factory or debug mode go through
loop.create_task. Each case must keep asyncio's semantics: the handler runs
inside a Task from its first line, a task factory sees every task, the
Task's default name is asyncio's, debug mode keeps working."""
import asyncio
import contextvars

from fastrapi import FastrAPI
from fastrapi.testclient import TestClient

made = []
var = contextvars.ContextVar("task_creation_var", default="unset")


def factory(loop, coro, **kw):
    t = asyncio.Task(coro, loop=loop, **kw)
    made.append(t)
    return t


def app_():
    app = FastrAPI()

    @app.get("/task")
    async def task():
        t = asyncio.current_task()
        var.set("seen")
        return {"task": t is not None, "name": t.get_name() if t else None,
                "by_factory": t in made, "done": t.done() if t else None,
                "var": var.get()}

    @app.get("/sleep")
    async def sleep():
        await asyncio.sleep(0.001)
        t = asyncio.current_task()
        return {"task": t is not None, "by_factory": t in made}

    @app.get("/factory/{on}")
    async def set_factory(on: int):
        asyncio.get_running_loop().set_task_factory(factory if on else None)
        return on

    @app.get("/debug/{on}")
    async def set_debug(on: int):
        asyncio.get_running_loop().set_debug(bool(on))
        return on

    return app


def test_task_direct_path_is_a_real_named_task():
    with TestClient(app_()) as c:
        for _ in range(3):
            r = c.get("/task").json()
            assert r["task"] is True and r["by_factory"] is False and r["done"] is False
            assert r["name"].startswith("Task-") and r["name"][5:].isdigit()
            assert r["var"] == "seen"
        assert c.get("/sleep").json() == {"task": True, "by_factory": False}


def test_task_factory_sees_every_handler_task():
    with TestClient(app_()) as c:
        try:
            assert c.get("/factory/1").json() == 1
            made.clear()
            r = c.get("/task").json()
            assert r["task"] is True and r["by_factory"] is True
            assert c.get("/sleep").json() == {"task": True, "by_factory": True}
            assert len(made) >= 2
        finally:
            assert c.get("/factory/0").json() == 0
        made.clear()
        assert c.get("/task").json()["by_factory"] is False
        assert made == []


def test_task_debug_mode_goes_through_create_task():
    with TestClient(app_()) as c:
        try:
            assert c.get("/debug/1").json() == 1
            r = c.get("/task").json()
            assert r["task"] is True and r["name"].startswith("Task-")
            assert c.get("/sleep").json()["task"] is True
        finally:
            assert c.get("/debug/0").json() == 0
        assert c.get("/task").json()["task"] is True


def test_stock_loop_builds_the_task_without_the_create_task_frame(monkeypatch):
    import asyncio.base_events as be
    calls = []
    orig = be.BaseEventLoop.create_task

    def counting(self, coro, **kw):
        calls.append(type(coro).__name__)
        return orig(self, coro, **kw)

    monkeypatch.setattr(be.BaseEventLoop, "create_task", counting)
    with TestClient(app_()) as c:
        n0 = len(calls)
        names = [c.get("/task").json()["name"] for _ in range(3)]
        assert calls[n0:] == []  # the Task came from asyncio.Task(...) directly
        assert len(set(names)) == 3 and all(n.startswith("Task-") for n in names)
        try:
            assert c.get("/factory/1").json() == 1
            n1 = len(calls)
            assert c.get("/task").json()["by_factory"] is True
            assert len(calls) > n1  # a factory: through loop.create_task
        finally:
            assert c.get("/factory/0").json() == 0


# A coroutine that finishes in its first step needs no Task step on the loop:
# the glue finishes its Task at once (Future.set_result(None), what the step
# would have given); a Task cancelled meanwhile, or a coroutine that
# suspends, gets its step as before.

def eager_app():
    from fastrapi import Depends
    app = FastrAPI()
    tasks = {}

    async def dep():
        return asyncio.current_task()

    async def sleepy_dep():
        await asyncio.sleep(0.001)
        return asyncio.current_task()

    @app.get("/eager")
    async def eager(t=Depends(dep)):
        tasks["eager"] = asyncio.current_task()
        return {"dep_done": t.done(), "dep_cancelled": t.cancelled(),
                "dep_result": repr(t.result()) if t.done() else None,
                "dep_is_handler_task": t is asyncio.current_task()}

    @app.get("/suspends")
    async def suspends(t=Depends(sleepy_dep)):
        return {"dep_done": t.done(), "dep_result_is_its_value": t.done() and t.result() is t}

    @app.get("/cancels")
    async def cancels():
        tasks["cancels"] = t = asyncio.current_task()
        return {"cancel": t.cancel()}

    @app.get("/last/{name}")
    async def last(name: str):
        await asyncio.sleep(0.01)  # the loop runs whatever was scheduled
        t = tasks[name]
        return {"done": t.done(), "cancelled": t.cancelled(),
                "result": repr(t.result()) if t.done() and not t.cancelled() else None}

    @app.get("/call_soon")
    async def call_soon():
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        got = asyncio.Queue()
        loop.call_soon(got.put_nowait, "positional")
        ctx.run(var.set, "in ctx")
        loop.call_soon(lambda: got.put_nowait(var.get()), context=ctx)
        return [await got.get(), await got.get()]

    return app


def test_task_of_a_coroutine_that_finished_at_once_is_done_at_once():
    with TestClient(eager_app()) as c:
        r = c.get("/eager").json()
        # the dependency's Task ended with its first step, before the handler
        assert r == {"dep_done": True, "dep_cancelled": False, "dep_result": "None",
                     "dep_is_handler_task": False}
        assert c.get("/last/eager").json() == {"done": True, "cancelled": False, "result": "None"}


def test_task_of_a_coroutine_that_suspends_runs_its_steps():
    with TestClient(eager_app()) as c:
        for _ in range(3):
            # its steps ran on the loop: the Task's result is the coroutine's value
            assert c.get("/suspends").json() == {"dep_done": True, "dep_result_is_its_value": True}


def test_task_cancelled_in_its_first_step_ends_cancelled():
    with TestClient(eager_app()) as c:
        assert c.get("/cancels").json() == {"cancel": True}  # the handler itself finished
        assert c.get("/last/cancels").json() == {"done": True, "cancelled": True, "result": None}


def test_no_task_left_pending(caplog):
    import gc
    with TestClient(eager_app()) as c:
        for _ in range(200):
            assert c.get("/eager").status_code == 200
        assert c.get("/suspends").status_code == 200
        gc.collect()
        assert c.get("/last/eager").json()["done"] is True
    gc.collect()
    assert not [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]


def test_own_loop_call_soon_still_schedules_everything_else():
    from fastrapi import _runtime
    with TestClient(eager_app()) as c:
        loop = _runtime.get_loop()
        assert type(loop.call_soon).__name__ == "builtin_function_or_method"  # intercepted
        assert c.get("/call_soon").json() == ["positional", "in ctx"]
