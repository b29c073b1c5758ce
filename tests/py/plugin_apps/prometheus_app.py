"""Run by tests/py/test_plugins.py: an app as the plugin's README shows, driven
over HTTP; the runner's prelude defines TestClient (FastAPI's, fastrapi's native
server, or Starlette's over the ASGI face). Prints what must be equal."""
# flake8: noqa: F821
from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator
app = FastAPI()
@app.get("/items/{item_id}")
def item(item_id: int):
    return {"item_id": item_id}
@app.post("/items")
async def create(body: dict):
    return body
Instrumentator(excluded_handlers=["/metrics"]).instrument(app).expose(app)
with TestClient(app) as c:
    for m, u, kw in [("GET", "/items/1", {}), ("GET", "/items/2", {}), ("GET", "/items/x", {}),
                     ("POST", "/items", {"json": {"a": 1}}), ("GET", "/nope", {})]:
        r = c.request(m, u, **kw)
        print(m, u, r.status_code, r.text)
    r = c.get("/metrics")
    print(r.status_code, r.headers["content-type"])
    for line in r.text.splitlines():
        if line.startswith(("http_requests_total", "http_request_size_bytes_sum",
                            "http_response_size_bytes_sum", "http_request_duration_seconds_count",
                            "http_request_duration_highr_seconds_count")):
            print(line)
print(sorted(p for p in app.openapi()["paths"]))
