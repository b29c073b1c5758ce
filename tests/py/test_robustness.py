"""Concurrency and resource hygiene."""
import asyncio
import gc
import os
import resource
import threading
import tracemalloc

import httpx
import pytest

from helpers import free_port, spawn
from fastrapi import FastrAPI, Query
from fastrapi.testclient import TestClient


def rss_kb():
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_thousands_of_concurrently_suspended_async_handlers():
    port = free_port()
    code = f"""
import asyncio
from fastrapi import FastrAPI
app = FastrAPI()
@app.get("/s/{{i}}")
async def s(i: int):
    await asyncio.sleep(0.3)
    return i
app.serve("127.0.0.1", {port}, access_log=False)
"""
    proc = spawn(code, port)
    n = 2000

    async def one(i):
        for attempt in range(5):  # a loaded machine may overflow the accept backlog
            try:
                r, w = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.2 * (attempt + 1))
        else:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(f"GET /s/{i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await w.drain()
        data = await r.read()
        w.close()
        return data

    async def main():
        return await asyncio.gather(*[one(i) for i in range(n)])

    try:
        results = asyncio.run(main())
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert len(results) == n
    for i, data in enumerate(results):
        assert data.startswith(b"HTTP/1.1 200"), data[:60]
        assert data.endswith(b"\r\n\r\n" + str(i).encode())


def test_memory_bounded_over_many_requests():
    """Run in an interpreter of its own: the heap measured is this app's only
    (an earlier test's server or stream still winding down in this process
    would be counted too)."""
    import subprocess
    import sys
    from helpers import ROOT
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, ROOT, os.environ.get("PYTHONPATH", "")]))
    p = subprocess.run([sys.executable, "-c", "import test_robustness as t; t.memory_bounded()"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-6000:]
    assert p.stdout.strip() == "bounded", p.stdout


def memory_bounded():
    app = FastrAPI()

    @app.get("/x/{i}")
    def x(i: int, q: str = Query("d"), l: list = Query([])):
        return {"i": i, "q": q, "l": l, "pad": "y" * 100}

    @app.post("/b")
    async def b(payload: dict):
        return payload

    @app.get("/bad/{i}")
    def bad(i: int):
        return i

    with TestClient(app) as c:
        def burst(k):
            for j in range(k):
                assert c.get(f"/x/{j}?q=abc&l=1&l=2").status_code == 200
                assert c.post("/b", json={"k": [j, "v" * 50]}).status_code == 200
                assert c.get("/bad/zz").status_code == 422
        burst(300)  # warm up caches / pools
        gc.collect()
        # one frame per allocation: twelve made this test four times slower;
        # FR_TRACEMALLOC_DEPTH=12 gives the deeper tracebacks of a failure
        tracemalloc.start(int(os.environ.get("FR_TRACEMALLOC_DEPTH", "1")))
        snap0 = tracemalloc.take_snapshot()
        before = tracemalloc.get_traced_memory()[0]
        rss0 = rss_kb()
        burst(1700)  # ~5000 requests
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        snap1 = tracemalloc.take_snapshot()
        tracemalloc.stop()
        rss1 = rss_kb()
    # Python-heap growth stays small (no per-request object leaks)...
    if after - before >= 2_000_000:  # name where it grew, and what else ran
        grew = snap1.compare_to(snap0, "traceback")[:4]
        where = "\n".join(f"{s}\n  " + "\n  ".join(s.traceback.format()[-16:])
                          for s in grew)
        threads = ", ".join(t.name for t in threading.enumerate())
        pytest.fail(f"Python heap grew {after - before} B over 5,100 requests; "
                    f"threads: {threads}\n{where}")
    # ...and so does the process (C-side allocations included)
    assert rss1 - rss0 < 30_000, rss1 - rss0
    print("bounded")
