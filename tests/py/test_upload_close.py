"""UploadFiles are closed once the response and its background tasks are
done, differential against FastAPI.

FastAPI closes the form's files after the request (a background task can
still read them); fastrapi left them open until garbage collection -- an open
descriptor per big upload kept anywhere. Small files (in memory) and big
ones (spooled to disk by the engine), on FastAPI's TestClient, fastrapi's
TestClient and its native server."""
import pytest

from conftest import framework
from helpers import served, wait_until

BIG = b"z" * (3 << 20)


def make_app(fw, store):
    app = fw.FastAPI()

    @app.post("/keep")
    async def keep(f: fw.UploadFile, bg: fw.BackgroundTasks, note: str = fw.Form("")):
        store["file"] = f

        async def read_later():
            await f.seek(0)
            store["read_in_background"] = len(await f.read())
        bg.add_task(read_later)
        return {"size": f.size, "closed_during": f.file.closed}

    @app.post("/many")
    def many(files: list[fw.UploadFile]):
        store["files"] = files
        return {"n": len(files)}

    @app.get("/state")
    def state():
        return {"closed": store["file"].file.closed,
                "many_closed": [f.file.closed for f in store.get("files", [])],
                "read_in_background": store.get("read_in_background")}

    return app


def answers(kind, payload):
    store = {}
    app = make_app(framework("fastapi" if kind == "fastapi" else "fastrapi"), store)
    with served(app, kind) as client:
        first = client.post("/keep", files={"f": ("a.bin", payload)}, data={"note": "n"}).json()
        many = client.post("/many", files=[("files", ("x", b"1")), ("files", ("y", payload))]).json()
        assert wait_until(lambda: "read_in_background" in store, 10)
        assert wait_until(lambda: client.get("/state").json()["closed"], 10)
        return first, many, client.get("/state").json()


@pytest.mark.parametrize("payload", [b"small", BIG], ids=["small", "3MiB"])
def test_upload_files_closed_after_the_request_as_in_fastapi(payload):
    want = answers("fastapi", payload)
    assert want == ({"size": len(payload), "closed_during": False}, {"n": 2},
                    {"closed": True, "many_closed": [True, True], "read_in_background": len(payload)})
    for kind in ("fastrapi", "native"):
        assert answers(kind, payload) == want, kind
