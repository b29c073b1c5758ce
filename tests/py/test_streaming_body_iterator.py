"""A StreamingResponse made from a sync iterable has an asynchronously
iterable ``body_iterator``, as Starlette's (``iterate_in_threadpool``):
code that wraps it with ``async for`` works. fastrapi kept the sync
iterator there (its engine iterates it on a worker), and ``async for``
raised TypeError."""
import asyncio
import threading

import pytest

from conftest import framework
from helpers import served


def make_app(fw):
    StreamingResponse = fw.responses.StreamingResponse
    app = fw.FastAPI()
    threads = []

    def chunks():
        for c in (b"a", b"b", b"c"):
            threads.append(threading.get_ident())
            yield c

    @app.get("/wrapped")
    def wrapped():
        inner = StreamingResponse(chunks(), media_type="text/plain")

        async def upper():
            async for chunk in inner.body_iterator:
                yield chunk.upper()
        return StreamingResponse(upper(), media_type="text/plain")

    @app.get("/plain")
    def plain():
        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/list")
    def from_list():
        return StreamingResponse([b"x", b"y"], media_type="text/plain")

    app.state.threads = threads
    return app


@pytest.mark.parametrize("kind", ["fastapi", "fastrapi", "native", "fastrapi-uvicorn"])
def test_sync_content_iterates_async(kind):
    name = "fastapi" if kind == "fastapi" else "fastrapi"
    app = make_app(framework(name))
    with served(app, kind) as c:
        got = [(r.status_code, r.headers["content-type"], r.content)
               for r in (c.get("/wrapped"), c.get("/plain"), c.get("/list"))]
    assert got == [(200, "text/plain; charset=utf-8", b"ABC"),
                   (200, "text/plain; charset=utf-8", b"abc"),
                   (200, "text/plain; charset=utf-8", b"xy")]
    if kind == "native":  # the engine iterates a sync body on one worker, not a thread per chunk
        assert len(set(app.state.threads[3:6])) == 1


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_body_iterator_object(name):
    from importlib import import_module
    responses = import_module(name + ".responses")
    r = responses.StreamingResponse(iter([b"a", b"b"]), media_type="text/plain")

    async def drain():
        return b"".join([c async for c in r.body_iterator])
    assert asyncio.run(drain()) == b"ab"
    # a non-iterable fails when it is iterated, not when it is made
    bad = responses.StreamingResponse(5)
    with pytest.raises(TypeError, match="not iterable"):
        asyncio.run(bad.body_iterator.__anext__())
