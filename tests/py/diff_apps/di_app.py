"""Dependency injection app for the differential proofs (test_di_proofs.py).

``make_app(fw)`` builds the same app on FastAPI and fastrapi. Dependencies
record what they do into ``app.di_events`` (a list shared by the whole app);
``GET /events`` returns it and ``POST /reset`` clears it, so a test can
compare the recorded order of setup/teardown between the frameworks.
``app.di_calls`` exposes the original callables for dependency_overrides.
"""
import importlib
from typing import Annotated, Optional


class Custom(Exception):
    pass


def make_app(fw):
    Depends, Security, HTTPException, Request = fw.Depends, fw.Security, fw.HTTPException, fw.Request
    Header, Query = fw.Header, fw.Query
    sec = importlib.import_module(fw.name + ".security")
    events = []

    # ------------------------------------------------------------ recording
    def rec(name):
        def dep():
            events.append(name)
            return name
        dep.__name__ = "rec_" + name
        return dep

    def app_level(request: Request):
        if request.url.path.startswith("/o/"):
            events.append("app")

    app = fw.FastAPI(dependencies=[Depends(app_level)])
    app.di_events = events

    @app.exception_handler(Custom)
    async def custom_handler(request, exc):
        return fw.responses.JSONResponse({"custom": str(exc)}, status_code=409)

    @app.get("/events")
    def get_events():
        return list(events)

    @app.post("/reset")
    def reset():
        events.clear()
        return "ok"

    # ------------------------------------------------------------ caching (diamond)
    counter = {"n": 0}

    def root():
        counter["n"] += 1
        events.append("root%d" % counter["n"])
        return counter["n"]

    def left(r: int = Depends(root)):
        events.append("left")
        return r

    def right(r: int = Depends(root)):
        events.append("right")
        return r

    async def aright(r: int = Depends(root)):
        events.append("aright")
        return r

    @app.get("/diamond")
    def diamond(l: int = Depends(left), r: int = Depends(right), a: int = Depends(aright),
                fresh: int = Depends(root, use_cache=False), again: int = Depends(root)):
        counter["n"] = 0
        return {"l": l, "r": r, "a": a, "fresh": fresh, "again": again, "ev": list(events)}

    @app.get("/diamond_nocache")
    def diamond_nocache(l1: int = Depends(left, use_cache=False),
                        l2: int = Depends(left, use_cache=False), r: int = Depends(right)):
        counter["n"] = 0
        return {"l1": l1, "l2": l2, "r": r, "ev": list(events)}

    @app.get("/nocache_chain")
    def nocache_chain(a: int = Depends(root), b: int = Depends(root, use_cache=False),
                      c: int = Depends(left, use_cache=False), d: int = Depends(left)):
        counter["n"] = 0
        return {"a": a, "b": b, "c": c, "d": d, "ev": list(events)}

    # ------------------------------------------------------------ ordering of levels
    inner = fw.APIRouter(prefix="/in", dependencies=[Depends(rec("inner-router"))])

    @inner.get("/x", dependencies=[Depends(rec("inner-dec"))])
    def inner_x(p: str = Depends(rec("inner-param"))):
        events.append("handler")
        return list(events)

    outer = fw.APIRouter(prefix="/o", dependencies=[Depends(rec("router"))])

    @outer.get("/x", dependencies=[Depends(rec("dec1")), Depends(rec("dec2"))])
    def outer_x(p1: str = Depends(rec("p1")), q: int = 0, p2: str = Depends(rec("p2"))):
        events.append("handler")
        return list(events)

    outer.include_router(inner, dependencies=[Depends(rec("inner-include"))])
    app.include_router(outer, dependencies=[Depends(rec("include"))])

    # ------------------------------------------------------------ yield teardown order
    def g_a():
        events.append("a-in")
        try:
            yield "a"
        finally:
            events.append("a-out")

    async def g_b(a: str = Depends(g_a)):
        events.append("b-in")
        try:
            yield a + "b"
        finally:
            events.append("b-out")

    def g_c(b: str = Depends(g_b), a: str = Depends(g_a)):
        events.append("c-in")
        try:
            yield b + "c" + a
        finally:
            events.append("c-out")

    async def g_dec():
        events.append("dec-in")
        yield
        events.append("dec-out")

    @app.get("/yield", dependencies=[Depends(g_dec)])
    def yield_order(c: str = Depends(g_c), b: str = Depends(g_b)):
        events.append("handler")
        return {"c": c, "b": b}

    @app.get("/yield_async", dependencies=[Depends(g_dec)])
    async def yield_order_async(b: str = Depends(g_b), c: str = Depends(g_c)):
        events.append("handler")
        return {"c": c, "b": b}

    # ------------------------------------------------------------ exceptions into generators
    def g_watch():
        events.append("w-in")
        try:
            yield "w"
        except HTTPException as e:
            events.append("w-http-%d" % e.status_code)
            raise
        except ValueError as e:
            events.append("w-value-%s" % e)
            raise
        except Custom as e:
            events.append("w-custom-%s" % e)
            raise
        else:
            events.append("w-ok")
        finally:
            events.append("w-finally")

    async def ag_watch():
        events.append("aw-in")
        try:
            yield "aw"
        except HTTPException as e:
            events.append("aw-http-%d" % e.status_code)
            raise
        except ValueError as e:
            events.append("aw-value-%s" % e)
            raise
        except Custom as e:
            events.append("aw-custom-%s" % e)
            raise
        else:
            events.append("aw-ok")
        finally:
            events.append("aw-finally")

    def g_convert():
        try:
            yield "cv"
        except ValueError as e:
            events.append("cv-%s" % e)
            raise HTTPException(status_code=400, detail="converted: %s" % e)

    def raise_what(what: str):
        if what == "http":
            raise HTTPException(status_code=418, detail="teapot", headers={"x-err": "tea"})
        if what == "value":
            raise ValueError("boom")
        if what == "custom":
            raise Custom("mine")
        events.append("handler-ok")
        return {"what": what}

    @app.get("/exc/{what}")
    def exc_sync(what: str, w: str = Depends(g_watch), aw: str = Depends(ag_watch)):
        return raise_what(what)

    @app.get("/aexc/{what}")
    async def exc_async(what: str, aw: str = Depends(ag_watch), w: str = Depends(g_watch)):
        return raise_what(what)

    @app.get("/convert/{what}")
    def convert(what: str, cv: str = Depends(g_convert), w: str = Depends(g_watch)):
        return raise_what(what)

    def g_guard(x_key: Optional[str] = Header(None)):
        events.append("guard-in")
        if x_key != "k":
            raise HTTPException(status_code=401, detail="bad key",
                                headers={"WWW-Authenticate": "Key"})
        try:
            yield x_key
        finally:
            events.append("guard-out")

    async def ag_guard(x_key: Optional[str] = Header(None)):
        events.append("aguard-in")
        if x_key != "k":
            raise HTTPException(status_code=403, detail="async bad key")
        try:
            yield x_key
        finally:
            events.append("aguard-out")

    @app.get("/before")
    def before(w: str = Depends(g_watch), k: str = Depends(g_guard)):
        events.append("handler")
        return k

    @app.get("/abefore")
    async def abefore(aw: str = Depends(ag_watch), k: str = Depends(ag_guard)):
        events.append("handler")
        return k

    # ------------------------------------------------------------ Depends(scope="function")
    def g_fscope(what: str):
        events.append("f-in")
        try:
            yield "f"
        finally:
            events.append("f-out")
        if what == "after":
            raise HTTPException(status_code=409, detail="after yield")

    @app.get("/fscope/{what}")
    def fscope(what: str, w: str = Depends(g_watch), f: str = Depends(g_fscope, scope="function")):
        events.append("handler")
        return {"f": f, "w": w}

    # ------------------------------------------------------------ an error inside a cleanup
    def g_outer():
        try:
            yield "outer"
        except Exception as e:
            events.append("outer-saw-%s" % type(e).__name__)
            raise
        else:
            events.append("outer-ok")

    def g_broken_cleanup(o: str = Depends(g_outer)):
        try:
            yield "inner"
        finally:
            events.append("inner-finally")
            raise RuntimeError("cleanup broke")

    @app.get("/cleanup/{what}")
    def cleanup(what: str, i: str = Depends(g_broken_cleanup)):
        return raise_what(what)

    # ------------------------------------------------------------ overrides
    def real_user(token: str = Query()):
        return {"real": token}

    def real_db():
        events.append("real-db")
        return "real-db"

    def service(db: str = Depends(real_db)):
        return "svc(" + db + ")"

    @app.get("/user")
    def user(u: dict = Depends(real_user), s: str = Depends(service)):
        return {"u": u, "s": s}

    app.di_calls = {"real_user": real_user, "real_db": real_db, "service": service}

    # ------------------------------------------------------------ security
    bearer_opt = sec.HTTPBearer(auto_error=False)
    key_header_opt = sec.APIKeyHeader(name="X-Key", auto_error=False)
    key_query_opt = sec.APIKeyQuery(name="key", auto_error=False)
    key_cookie_opt = sec.APIKeyCookie(name="key", auto_error=False)
    oauth2 = sec.OAuth2PasswordBearer(tokenUrl="token", scopes={"read": "R", "write": "W"})
    code_opt = sec.OAuth2AuthorizationCodeBearer(authorizationUrl="a", tokenUrl="t",
                                                 auto_error=False)
    basic = sec.HTTPBasic(realm="r")
    digest = sec.HTTPDigest()
    oidc = sec.OpenIdConnect(openIdConnectUrl="https://x/.well-known")

    def any_credential(b=Depends(bearer_opt), h=Depends(key_header_opt),
                       q=Depends(key_query_opt), c=Depends(key_cookie_opt)):
        if b is not None:
            return "bearer:" + b.credentials
        for kind, v in (("header", h), ("query", q), ("cookie", c)):
            if v:
                return kind + ":" + v
        raise HTTPException(status_code=401, detail="need any", headers={"WWW-Authenticate": "Any"})

    @app.get("/any")
    def any_ep(who: str = Depends(any_credential)):
        return who

    def scoped_user(scopes: sec.SecurityScopes, token: Annotated[str, Depends(oauth2)]):
        granted = token.split(",")
        for s in scopes.scopes:
            if s not in granted:
                raise HTTPException(status_code=401, detail="Not enough permissions",
                                    headers={"WWW-Authenticate": 'Bearer scope="%s"'
                                             % scopes.scope_str})
        return {"token": token, "need": scopes.scopes}

    @app.get("/read")
    def read(u: Annotated[dict, Security(scoped_user, scopes=["read"])]):
        return u

    @app.get("/write", dependencies=[Security(scoped_user, scopes=["read", "write"])])
    def write():
        return "written"

    secured = fw.APIRouter(prefix="/sec", dependencies=[Security(basic)])

    @secured.get("/basic")
    def sec_basic(cred: Annotated[sec.HTTPBasicCredentials, Depends(basic)]):
        return {"u": cred.username, "p": cred.password}

    @secured.get("/digest")
    def sec_digest(cred=Depends(digest)):
        return {"scheme": cred.scheme, "cred": cred.credentials}

    app.include_router(secured)

    @app.get("/code")
    def code(tok: Optional[str] = Depends(code_opt), o: str = Depends(oidc)):
        return {"tok": tok, "oidc": o}

    return app


# stateless requests for the generic harness (test_differential.py); the stateful
# proofs (event order, overrides) are in test_di_proofs.py
CASES = [
    ("GET", "/user?token=t", {}), ("GET", "/user", {}), ("GET", "/exc/http", {}),
    ("GET", "/exc/custom", {}), ("GET", "/before", {}), ("GET", "/abefore", {"headers": {"x-key": "k"}}),
    ("GET", "/read", {}), ("GET", "/read", {"headers": {"Authorization": "Bearer read"}}),
    ("GET", "/write", {"headers": {"Authorization": "Bearer read"}}),
    ("GET", "/sec/basic", {"headers": {"Authorization": "Basic YWw6cHc="}}),
    ("GET", "/sec/digest", {"headers": {"Authorization": "Digest abc"}}), ("GET", "/code", {}),
    ("GET", "/any", {"params": {"key": "q"}}),
]
