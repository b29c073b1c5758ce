"""Return values, response_model, response classes, errors, handlers."""
import dataclasses
import datetime
import decimal
import enum
import uuid
from typing import List, Optional

from pydantic import BaseModel, Field


class Out(BaseModel):
    name: str
    price: float = 1.0
    secret: Optional[str] = None
    nick: Optional[str] = None


class Color(enum.Enum):
    red = "red"


@dataclasses.dataclass
class DC:
    a: int
    b: str


class MyError(Exception):
    pass


def make_app(fw):
    app = fw.FastAPI()
    r = fw.responses

    @app.get("/types")
    def types():
        return {
            "int": 1, "neg": -5, "big": 2 ** 70, "float": 0.1, "f2": 1e16, "f3": 1.5e-7, "f4": 100.0,
            "str": "héllo \"q\" \\ \n\t\x01 \u2028 😀", "none": None, "t": True, "f": False,
            "list": [1, [2, [3]]], "tuple": (1, 2), "set": {3}, "frozen": frozenset([4]),
            "dt": datetime.datetime(2020, 1, 2, 3, 4, 5, 6), "date": datetime.date(2020, 1, 2),
            "time": datetime.time(1, 2, 3), "td": datetime.timedelta(seconds=90),
            "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "enum": Color.red, "dec": decimal.Decimal("1.5"), "dec2": decimal.Decimal("10"),
            "bytes": b"raw", "dc": DC(1, "x"), "model": Out(name="m"),
            "_sa_hidden": 1, "keys": {1: "a", None: "b", True: "c", 2.5: "d"},
        }

    @app.get("/str")
    def s():
        return "just a string"

    @app.get("/none")
    def none():
        return None

    @app.get("/model", response_model=Out)
    def model():
        return {"name": "x", "price": 2, "secret": "s", "extra": "dropped"}

    @app.get("/model_exclude", response_model=Out, response_model_exclude={"secret"},
             response_model_exclude_none=True)
    def model_ex():
        return Out(name="x", secret="s")

    @app.get("/model_unset", response_model=Out, response_model_exclude_unset=True)
    def model_unset():
        return Out(name="x", nick="n")

    @app.get("/model_list", response_model=List[Out])
    def model_list():
        return [{"name": "a"}, Out(name="b", price=3)]

    @app.get("/model_bad", response_model=Out)
    def model_bad():
        return {"price": "zzz"}

    @app.get("/annotated")
    def annotated() -> Out:
        return Out(name="ann", secret="s")

    @app.post("/created", status_code=201)
    def created():
        return {"ok": True}

    @app.delete("/nocontent", status_code=204)
    def nocontent():
        return None

    @app.get("/html", response_class=r.HTMLResponse)
    def html():
        return "<h1>hi</h1>"

    @app.get("/plain", response_class=r.PlainTextResponse)
    def plain():
        return "plain text"

    @app.get("/resp")
    def resp():
        return r.JSONResponse({"custom": True}, status_code=202, headers={"X-Custom": "yes"})

    @app.get("/raw")
    def raw():
        return fw.Response(content=b"raw bytes", media_type="application/octet-stream")

    @app.get("/redirect")
    def redirect():
        return r.RedirectResponse("/str")

    @app.get("/redirect301")
    def redirect301():
        return r.RedirectResponse("/target path?x=1", status_code=301)

    @app.get("/inject")
    def inject(response: fw.Response):
        response.status_code = 201
        response.headers["X-Injected"] = "1"
        response.set_cookie("c1", "v1")
        response.set_cookie("c2", "v 2", max_age=10, httponly=True, samesite="strict", path="/p")
        response.delete_cookie("old")
        return {"injected": True}

    @app.get("/stream")
    def stream():
        def gen():
            for i in range(3):
                yield f"chunk{i};"
        return r.StreamingResponse(gen(), media_type="text/plain")

    @app.get("/astream")
    async def astream():
        async def gen():
            for i in range(3):
                yield f"a{i};".encode()
        return r.StreamingResponse(gen())

    @app.get("/http_exc")
    def http_exc():
        raise fw.HTTPException(status_code=404, detail={"msg": "gone", "n": [1]},
                               headers={"X-Err": "e"})

    @app.get("/http_exc_default")
    def http_exc_default():
        raise fw.HTTPException(status_code=403)

    @app.get("/http_304")
    def http_304():
        raise fw.HTTPException(status_code=304)

    @app.get("/async_exc")
    async def async_exc():
        raise fw.HTTPException(status_code=409, detail="conflict")

    @app.get("/my_error")
    def my_error():
        raise MyError("x")

    @app.get("/unhandled")
    def unhandled():
        raise RuntimeError("nobody catches this")

    @app.get("/inject_model", response_model=Out)
    def inject_model(response: fw.Response):
        response.headers["X-Injected"] = "m"
        response.status_code = 203
        return {"name": "inj"}

    @app.get("/status_model", response_model=Out, status_code=202)
    def status_model():
        return Out(name="s", price=1e16)

    @app.get("/jsonresp_class", response_class=r.JSONResponse)
    def jsonresp_class():
        return {"via": "class", "f": 1e16, "u": "é"}

    class Aliased(BaseModel):
        model_config = {"populate_by_name": True}
        item_name: str = Field(alias="itemName")

    @app.get("/aliased", response_model=Aliased)
    def aliased():
        return Aliased(item_name="x")

    class Inner(BaseModel):
        v: List[int]

    class Outer(BaseModel):
        inner: Inner
        opt: Optional[Inner] = None

    @app.get("/nested")
    def nested():
        return Outer(inner=Inner(v=[1, 2]))

    @app.get("/empty_list", response_model=List[int])
    def empty_list():
        return []

    @app.get("/floats")
    def floats():
        return [0.1, 1e16, 1e-7, 2.0, 1e22, 123456789.0, -0.0, 3.14159]

    @app.get("/html_model", response_class=r.HTMLResponse, response_model=str)
    def html_model():
        return "<b>x</b>"

    @app.get("/json_model_class", response_class=r.JSONResponse, response_model=Out,
             response_model_exclude_none=True)
    def json_model_class():
        return {"name": "n", "price": 1e16, "secret": None}

    @app.get("/redirect_class", response_class=r.RedirectResponse)
    def redirect_class():
        return "/str"

    @app.get("/sub_status_class", response_class=r.PlainTextResponse, status_code=201)
    def sub_status_class(response: fw.Response):
        response.headers["X-Injected"] = "c"
        return "text"

    @app.exception_handler(MyError)
    async def my_error_handler(request, exc):
        return r.JSONResponse({"handled": str(exc), "path": request.url.path}, status_code=599)

    return app


CASES = [(m, u, {}) for m, u in [
    ("GET", "/types"), ("GET", "/str"), ("GET", "/none"), ("GET", "/model"),
    ("GET", "/model_exclude"), ("GET", "/model_unset"), ("GET", "/model_list"),
    ("GET", "/annotated"), ("POST", "/created"), ("DELETE", "/nocontent"),
    ("GET", "/html"), ("GET", "/plain"), ("GET", "/resp"), ("GET", "/raw"),
    ("GET", "/redirect"), ("GET", "/redirect301"), ("GET", "/inject"), ("GET", "/stream"),
    ("GET", "/astream"), ("GET", "/http_exc"), ("GET", "/http_exc_default"), ("GET", "/http_304"),
    ("GET", "/async_exc"), ("GET", "/my_error"), ("GET", "/model_bad"), ("GET", "/unhandled"),
    ("GET", "/inject_model"), ("GET", "/status_model"), ("GET", "/jsonresp_class"),
    ("GET", "/aliased"), ("GET", "/nested"), ("GET", "/empty_list"), ("GET", "/floats"),
    ("GET", "/html_model"), ("GET", "/json_model_class"), ("GET", "/redirect_class"),
    ("GET", "/sub_status_class"),
]]
