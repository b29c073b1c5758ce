"""Run by tests/py/test_plugins.py: an app as the plugin's README shows, driven
over HTTP; the runner's prelude defines TestClient (FastAPI's, fastrapi's native
server, or Starlette's over the ASGI face). Prints what must be equal."""
# flake8: noqa: F821
from fastapi import FastAPI, Request, Response
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.middleware import SlowAPIMiddleware
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, headers_enabled=True, default_limits=["3/minute"])
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)
app.add_middleware(SlowAPIMiddleware)  # default_limits for undecorated routes

@app.get("/home")
@limiter.limit("2/minute")
async def homepage(request: Request, response: Response):
    return {"page": "home"}

@app.get("/mars")
@limiter.limit("1/minute")
def mars(request: Request, response: Response):
    return {"planet": "mars"}

@app.get("/free")
def free():
    return "free"

@app.get("/exempt")
@limiter.exempt
async def exempt(request: Request):
    return "exempt"

with TestClient(app) as c:
    for u in ["/home", "/home", "/home", "/mars", "/mars", "/free", "/free", "/free", "/free"] + ["/exempt"] * 4:
        r = c.get(u)
        print(u, r.status_code, r.text, r.headers.get("content-type"),
              r.headers.get("x-ratelimit-limit"), r.headers.get("x-ratelimit-remaining"),
              "retry-after" in r.headers)
print(sorted(app.openapi()["paths"]))
