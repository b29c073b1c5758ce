"""atheris harness for the Python-object JSON builder (issue 14): the engine's
JSON decoder building Python objects (fastrapi._fastrapi.loads), the encoder
from Python objects (dumps), and a request body through the native server
into a handler's parameters (POST -> dict / pydantic model -> JSON back).

Each input's first byte picks a target; the rest is its data:
  0  loads(data): never crashes; when it succeeds, Python's json (strict:
     no NaN/Infinity) decodes the same bytes to the same value with the same
     types; when it fails, json fails too, or the input is one the engine
     rejects on purpose (nesting deeper than FR_MAX_JSON_DEPTH, a lone
     surrogate escape, a number beyond float range, an int beyond Python's
     digit limit);
  1  dumps(obj) of an object built from the data (dicts with str/int/float/
     bool/None keys, lists, tuples, str, bytes, int, float incl. inf/NaN,
     bool, None): exactly the bytes of Starlette's JSONResponse
     (json.dumps(jsonable_encoder(obj), ensure_ascii=False, allow_nan=False,
     separators=(",", ":"))), or an error where that raises;
  2  the data as a POST body (JSON content type) to a live native server on
     127.0.0.1 (a `dict` body and a pydantic model body): the connection
     always answers, with the status of FastAPI on the same app (its ASGI
     app called in-process; an exception there is uvicorn's 500) -- so never
     a 5xx where FastAPI has none; a 200's JSON equals FastAPI's.

Run:  python3 fuzz/atheris_json.py [libFuzzer options] [corpus dirs]
      e.g.  python3 fuzz/atheris_json.py -max_total_time=60 -timeout=10
Neither the extension nor fastrapi's Python is coverage-instrumented (that
import takes a minute); atheris instruments this harness's own functions, and
the differential checks are what find bugs in the C code."""
import asyncio
import json
import math
import os
import socket
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import atheris  # noqa: E402

from fastrapi.applications import _setup_extension  # noqa: E402

# dumps/loads need the module set up (the extension's handles to
# jsonable_encoder & co.); an app's first serve() does it, so must we.
F = _setup_extension()
MAX_DEPTH = 128  # src/config.h FR_MAX_JSON_DEPTH
ERR = object()


class Rejected(Exception):
    pass


def _no_constant(name):
    raise Rejected(name)


def _float(s):
    v = float(s)
    if math.isinf(v):
        raise Rejected("float overflow")
    return v


@atheris.instrument_func
def strict_eq(a, b):
    """Equal values of the same types (True is not 1, 1.0 is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(strict_eq(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def depth(text):
    d = m = 0
    in_str = esc = False
    for c in text:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            d += 1
            m = max(m, d)
        elif c in "]}":
            d -= 1
    return m


def has_lone_surrogate(v):
    if isinstance(v, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in v)
    if isinstance(v, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(x) for k, x in v.items())
    if isinstance(v, list):
        return any(has_lone_surrogate(x) for x in v)
    return False


@atheris.instrument_func
def reference_loads(data):
    """json.loads as RFC 8259 reads it, or (ERR, why)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return ERR, "utf-8"
    if text.startswith("\ufeff"):
        return ERR, "bom"
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_float), None
    except Rejected as e:
        return ERR, str(e)
    except RecursionError:
        return ERR, "recursion"
    except ValueError as e:  # JSONDecodeError, int digit limit
        return ERR, "int digits" if "digits" in str(e) else "invalid"


@atheris.instrument_func
def check_loads(data):
    try:
        ours = F.loads(data)
    except ValueError:
        ours = ERR
    theirs, why = reference_loads(data)
    if ours is ERR:
        if theirs is ERR:
            return
        text = data.decode("utf-8")
        if depth(text) > MAX_DEPTH or has_lone_surrogate(theirs):
            return
        raise AssertionError("loads rejects %r, json reads %r" % (data[:200], theirs))
    if theirs is ERR:
        if why == "int digits":  # Python's json refuses > 4300 digits; the engine need not
            return
        raise AssertionError("loads accepts %r as %r, json rejects it (%s)" % (data[:200], ours, why))
    if not strict_eq(ours, theirs):
        raise AssertionError("loads %r: %r != json's %r" % (data[:200], ours, theirs))


@atheris.instrument_func
def build(fdp, level=0):
    kind = fdp.ConsumeIntInRange(0, 11 if level < 6 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return fdp.ConsumeBool()
    if kind == 2:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 24))
    if kind == 3:
        return fdp.ConsumeFloat()  # includes inf, -inf, nan, -0.0
    if kind == 4:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 40))  # may hold lone surrogates
    if kind == 5:
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 20))
    if kind == 6:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40))
    if kind == 7:
        return fdp.ConsumeRegularFloat()
    n = fdp.ConsumeIntInRange(0, 6)
    if kind in (8, 9):
        items = [build(fdp, level + 1) for _ in range(n)]
        return items if kind == 8 else tuple(items)
    out = {}
    for _ in range(n):
        k = fdp.ConsumeIntInRange(0, 4)
        key = (fdp.ConsumeUnicodeNoSurrogates(8), fdp.ConsumeInt(4), fdp.ConsumeRegularFloat(),
               fdp.ConsumeBool(), None)[k]
        out[key] = build(fdp, level + 1)
    return out


def reference_dumps(obj):
    from fastapi.encoders import jsonable_encoder
    try:
        return json.dumps(jsonable_encoder(obj), ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError):
        return ERR


@atheris.instrument_func
def check_dumps(data):
    obj = build(atheris.FuzzedDataProvider(data))
    try:
        ours = F.dumps(obj)
    except (ValueError, TypeError, UnicodeEncodeError):
        ours = ERR
    theirs = reference_dumps(obj)
    if ours is ERR or theirs is ERR:
        if (ours is ERR) != (theirs is ERR):
            raise AssertionError("dumps(%r): %r, Starlette's JSONResponse: %r"
                                 % (obj, "error" if ours is ERR else ours,
                                    "error" if theirs is ERR else theirs))
        return
    if ours != theirs:
        raise AssertionError("dumps(%r) = %r, Starlette's JSONResponse = %r" % (obj, ours, theirs))


APP = None


def _make_app(mod):
    from typing import List, Optional

    from pydantic import BaseModel

    class Item(BaseModel):
        x: int
        y: List[float] = []
        s: Optional[str] = None

    app = mod.FastAPI()

    @app.post("/dict")
    def post_dict(payload: dict):
        return payload

    @app.post("/model")
    def post_model(item: Item):
        return item
    return app


class BodyTarget:
    def __init__(self):
        import fastapi
        import fastrapi
        ours = _make_app(fastrapi)
        self.srv = ours._build_server(access_log=False, no_signals=True, threads=1, net={})
        self.port = self.srv.listen("127.0.0.1", 0)
        threading.Thread(target=self.srv.serve, daemon=True).start()
        self.theirs = _make_app(fastapi)
        self.loop = asyncio.new_event_loop()
        self.sock = None

    def ours(self, path, body):
        req = (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % (path.encode(), len(body))) + body
        for attempt in range(2):  # a kept-alive socket the server closed: reconnect once
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            try:
                self.sock.sendall(req)
                return self._response()
            except (OSError, EOFError):
                self.sock.close()
                self.sock = None
                if attempt:
                    raise

    def _response(self):
        buf = b""
        while b"\r\n\r\n" not in buf:
            b = self.sock.recv(65536)
            if not b:
                raise EOFError("closed before the head")
            buf += b
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        n = 0
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        while len(rest) < n:
            b = self.sock.recv(65536)
            if not b:
                raise EOFError("closed mid-body")
            rest += b
        return status, rest[:n]

    def reference(self, path, body):
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "server": ("x", 80), "client": ("127.0.0.1", 1),
                 "headers": [(b"host", b"x"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())]}
        out = {"status": None, "body": b""}
        sent = [False]

        async def receive():
            if sent[0]:
                return {"type": "http.disconnect"}
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(m):
            if m["type"] == "http.response.start":
                out["status"] = m["status"]
            elif m["type"] == "http.response.body":
                out["body"] += m.get("body", b"")

        try:
            self.loop.run_until_complete(self.theirs(scope, receive, send))
        except Exception:  # what uvicorn answers when the app raises
            return 500, b"Internal Server Error"
        return out["status"], out["body"]

    def check(self, data):
        for path in ("/dict", "/model"):
            status, body = self.ours(path, data)
            want, want_body = self.reference(path, data)
            if status != want:  # a 5xx only where FastAPI's is one too (1e400 -> inf -> 500)
                raise AssertionError("POST %s %r: %d %r, FastAPI %d %r"
                                     % (path, data[:200], status, body[:300], want, want_body[:300]))
            if status == 200 and not strict_eq(json.loads(body), json.loads(want_body)):
                raise AssertionError("POST %s %r: %r, FastAPI %r" % (path, data[:200], body, want_body))


@atheris.instrument_func
def TestOneInput(data):
    if not data:
        return
    target, rest = data[0] % 3, data[1:]
    if target == 0:
        check_loads(rest)
    elif target == 1:
        check_dumps(rest)
    else:
        global APP
        if APP is None:
            APP = BodyTarget()
        APP.check(rest)


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
