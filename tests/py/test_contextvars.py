"""contextvars across a request, as FastAPI runs it (issue: ecosystem, item 6).

FastAPI runs one request in one asyncio task: an `async def` dependency runs
in that task's context, so what it sets is seen by everything after it; a
`def` dependency, generator dependency or handler runs in a worker thread on
a COPY of that context (anyio.to_thread), so what it sets is not seen by
anything else -- and nothing leaks from one request to the next. The same app
runs on FastAPI and on fastrapi; the answers are pinned literally too."""
import contextvars

import pytest

from conftest import framework

CV = contextvars.ContextVar("fr_test_cv", default="unset")


def make_app(fw):
    app = fw.FastAPI()

    async def set_async():
        CV.set("async")
        return "a"

    def set_sync():
        CV.set("sync")
        return "s"

    def set_gen():
        CV.set("gen")
        yield "g"

    async def set_agen():
        CV.set("agen")
        yield "ag"

    async def read_async():
        return CV.get()

    def read_sync():
        return CV.get()

    @app.get("/async-dep-def-handler")
    def h1(x=fw.Depends(set_async)):
        return CV.get()

    @app.get("/async-dep-async-handler")
    async def h2(x=fw.Depends(set_async)):
        return CV.get()

    @app.get("/sync-dep-async-handler")
    async def h3(x=fw.Depends(set_sync)):
        return CV.get()

    @app.get("/gen-dep-def-handler")
    def h4(x=fw.Depends(set_gen)):
        return CV.get()

    @app.get("/agen-dep-def-handler")
    def h5(x=fw.Depends(set_agen)):
        return CV.get()

    @app.get("/chain")
    async def h6(a=fw.Depends(set_async), b=fw.Depends(read_sync), c=fw.Depends(read_async)):
        return [b, c, CV.get()]

    @app.get("/sync-then-read")
    def h7(a=fw.Depends(set_sync), b=fw.Depends(read_async), c=fw.Depends(read_sync)):
        return [b, c, CV.get()]

    @app.get("/leak-def")
    def h8():
        before = CV.get()
        CV.set("leaked")
        return before

    @app.get("/leak-async")
    async def h9():
        before = CV.get()
        CV.set("leaked")
        return before

    return app


CASES = [
    ("/async-dep-def-handler", "async"),
    ("/async-dep-async-handler", "async"),
    ("/sync-dep-async-handler", "unset"),
    ("/gen-dep-def-handler", "unset"),
    ("/agen-dep-def-handler", "agen"),
    ("/chain", ["async", "async", "async"]),
    ("/sync-then-read", ["unset", "unset", "unset"]),
    ("/leak-def", "unset"),
    ("/leak-async", "unset"),
]


@pytest.fixture(scope="module")
def clients():
    fa, fr = framework("fastapi"), framework("fastrapi")
    from fastapi.testclient import TestClient as FaClient
    from fastrapi.testclient import TestClient as FrClient
    with FaClient(make_app(fa)) as a, FrClient(make_app(fr)) as b:
        yield a, b


@pytest.mark.parametrize("url,expected", CASES)
def test_context_like_fastapi(clients, url, expected):
    fa, fr = clients
    for _ in range(3):  # repeated: nothing leaks between requests or pool threads
        theirs = fa.get(url)
        assert (theirs.status_code, theirs.json()) == (200, expected)
        ours = fr.get(url)
        assert (ours.status_code, ours.json()) == (200, expected)
