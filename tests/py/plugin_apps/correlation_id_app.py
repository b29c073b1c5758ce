"""Run by tests/py/test_plugins.py: an app as the plugin's README shows, driven
over HTTP; the runner's prelude defines TestClient (FastAPI's, fastrapi's native
server, or Starlette's over the ASGI face). Prints what must be equal."""
# flake8: noqa: F821
import logging, uuid
from fastapi import FastAPI, HTTPException
from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from asgi_correlation_id.log_filters import CorrelationIdFilter
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.correlation_id)
log = logging.getLogger("cid.test")
log.setLevel(logging.INFO)
h = Keep()
h.addFilter(CorrelationIdFilter(uuid_length=32, default_value="-"))
log.addHandler(h)
app = FastAPI()
app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID",
                   update_request_header=True)
@app.get("/sync")
def sync_route():
    log.info("sync")
    return {"cid": correlation_id.get()}
@app.get("/async")
async def async_route():
    log.info("async")
    return {"cid": correlation_id.get()}
@app.get("/fail")
def fail():
    raise HTTPException(400, "bad")
good = "c8bbd4bd-54a0-4d1e-9b8f-2d8c2a2f9e8e".replace("-", "")
with TestClient(app) as c:
    for u in ("/sync", "/async", "/fail"):
        r = c.get(u, headers={"X-Request-ID": good})
        print(u, r.status_code, r.json(), r.headers.get("x-request-id"),
              r.headers.get("access-control-expose-headers"))
    r = c.get("/sync", headers={"X-Request-ID": "not a uuid"})
    new = r.headers["x-request-id"]
    print(r.status_code, r.json()["cid"] == new, uuid.UUID(new).version, new != "not a uuid")
    r = c.get("/async")
    print(r.status_code, r.json()["cid"] == r.headers["x-request-id"], len(r.headers["x-request-id"]))
    r = c.options("/sync", headers={"origin": "https://x.example", "X-Request-ID": good})
    print(r.status_code, r.headers.get("x-request-id"))
print([r == good or len(r) for r in records])
print(correlation_id.get())
