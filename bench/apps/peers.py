"""The benchmark workloads written for the peers that are not FastAPI-shaped.

app.py is the one source for fastrapi, FastAPI (uvicorn, granian) and FastrAPI.
The frameworks below have their own routing and request APIs, so each gets the
same routes, the same answers and the same work (workload.py: pydantic models,
the SQLite read) in its own idiom. None of them has a FastAPI-style Depends
chain: /deps is not served (bench_peers.py reports N/A without asking).

    GET  /hello                   sync handler where the framework has one
    GET  /hello-async             async handler
    GET  /params/{item_id}?q=&limit=
    POST /order                   Order.model_validate_json(body) -> summary
    GET  /list                    TypeAdapter(List[Row]): validate + dump_json
    GET  /db/{row_id}             workload.db_row()
    GET  /page                    templates/page.html rendered with jinja2 (the
                                  Environment Starlette's Jinja2Templates makes)

Each factory imports its framework only when called, so this module imports
in any environment that has pydantic. Every answer is encoded per request (no
pre-encoded bodies), as the frameworks do.
"""
import json
from typing import List
from urllib.parse import parse_qs

from pydantic import TypeAdapter

import workload
from workload import Order, Row

HELLO = {"message": "Hello World"}
ROWS_TA = TypeAdapter(List[Row])


def list_json():
    """The response_model work: validate the 100 rows, then serialize them."""
    return ROWS_TA.dump_json(ROWS_TA.validate_python(workload.ROWS))


def order_json(body):
    """Validate the ~10 KB document with pydantic; JSON bytes of the summary.
    Raises pydantic.ValidationError on a bad document."""
    return dumps(workload.order_summary(Order.model_validate_json(body)))


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


_env = []  # the Environment, made on first use


def page_html():
    """The /page work, as Starlette's TemplateResponse does it: look the
    template up (jinja2's cache, checking the file's mtime) and render it
    with the page's context; UTF-8."""
    if not _env:
        _env.append(workload.page_env())
    return _env[0].get_template("page.html").render(workload.PAGE_CONTEXT).encode()


def params_of(query, item_id):
    """(dict answer) for /params from a raw query string; ValueError on a bad int."""
    q = parse_qs(query)
    return {"item_id": int(item_id), "q": q.get("q", [""])[0],
            "limit": int(q.get("limit", ["10"])[0])}


# ---- granian, a bare RSGI callable (no framework) ---------------------------
JSON_HDRS = [("content-type", "application/json")]
HTML = b"text/html; charset=utf-8"
HTML_HDRS = [("content-type", HTML.decode())]


async def rsgi_app(scope, proto):
    """granian --interface rsgi peers:rsgi_app. A dict lookup and two prefixes."""
    path = scope.path
    try:
        if path in ("/hello", "/hello-async"):  # the dict is encoded per request, as
            proto.response_bytes(200, JSON_HDRS, dumps(HELLO))  # frameworks do
        elif path.startswith("/params/"):
            body = dumps(params_of(scope.query_string, path[8:]))
            proto.response_bytes(200, JSON_HDRS, body)
        elif path == "/order" and scope.method == "POST":
            proto.response_bytes(200, JSON_HDRS, order_json(await proto()))
        elif path == "/list":
            proto.response_bytes(200, JSON_HDRS, list_json())
        elif path.startswith("/db/"):
            row = workload.db_row(int(path[4:]))
            proto.response_bytes(200 if row else 404, JSON_HDRS, dumps(row))
        elif path == "/page":
            proto.response_bytes(200, HTML_HDRS, page_html())
        else:
            proto.response_bytes(404, JSON_HDRS, b'{"detail":"Not Found"}')
    except ValueError:  # bad int or pydantic.ValidationError (a ValueError)
        proto.response_bytes(422, JSON_HDRS, b'{"detail":"invalid"}')


# ---- BlackSheep (served by granian, ASGI) ----------------------------------
def blacksheep_app():
    from blacksheep import Application, Content, FromJSON, Response
    from blacksheep import json as bs_json

    app = Application(show_error_details=False)
    get, post = app.router.add_get, app.router.add_post

    def raw_json(data):
        return Response(200, None, Content(b"application/json", data))

    def hello():
        return bs_json(HELLO)

    async def hello_async():
        return bs_json(HELLO)

    async def params(item_id: int, q: str = "", limit: int = 10):
        return bs_json({"item_id": item_id, "q": q, "limit": limit})

    async def order(data: FromJSON[Order]):
        return raw_json(dumps(workload.order_summary(data.value)))

    async def rows():
        return raw_json(list_json())

    async def db(row_id: int):
        return bs_json(workload.db_row(row_id))

    async def page():
        return Response(200, None, Content(HTML, page_html()))

    get("/hello", hello)
    get("/hello-async", hello_async)
    get("/params/{item_id}", params)
    post("/order", order)
    get("/list", rows)
    get("/db/{row_id}", db)
    get("/page", page)
    return app


# ---- Robyn -------------------------------------------------------------------
def robyn_app():
    from robyn import Response, Robyn

    app = Robyn(__file__)

    def raw_json(data, status=200):
        return Response(status_code=status, headers={"content-type": "application/json"},
                        description=data)

    @app.get("/hello")
    def hello():
        return HELLO

    @app.get("/hello-async")
    async def hello_async():
        return HELLO

    @app.get("/params/:item_id")
    def params(request):
        qp = request.query_params
        return {"item_id": int(request.path_params["item_id"]), "q": qp.get("q", ""),
                "limit": int(qp.get("limit", "10"))}

    @app.post("/order")
    def order(request):
        body = request.body
        try:
            return raw_json(order_json(body))
        except ValueError:
            return raw_json(b'{"detail":"invalid"}', 422)

    @app.get("/list")
    def rows():
        return raw_json(list_json())

    @app.get("/db/:row_id")
    def db(request):
        return workload.db_row(int(request.path_params["row_id"]))

    @app.get("/page")
    def page():
        return Response(status_code=200, headers={"content-type": HTML.decode()},
                        description=page_html())

    return app


# ---- socketify.py --------------------------------------------------------------
def socketify_app():
    from socketify import App

    app = App()
    ctype = b"application/json"

    app.get("/hello", lambda res, req: res.send(dumps(HELLO), content_type=ctype))

    async def hello_async(res, req):
        res.send(dumps(HELLO), content_type=ctype)

    def params(res, req):
        try:
            body = dumps({"item_id": int(req.get_parameter(0)), "q": req.get_query("q") or "",
                          "limit": int(req.get_query("limit") or "10")})
        except ValueError:
            return res.send(b'{"detail":"invalid"}', content_type=ctype, status=422)
        res.send(body, content_type=ctype)

    inflight = set()  # the responses waiting for their body (socketify needs them alive)

    def order(res, req):
        chunks = []

        def on_data(res, chunk, is_end):
            if chunk:
                chunks.append(chunk)
            if is_end:
                inflight.discard(res)
                try:
                    res.send(order_json(b"".join(chunks)), content_type=ctype)
                except ValueError:
                    res.send(b'{"detail":"invalid"}', content_type=ctype, status=422)

        inflight.add(res)
        res.on_aborted(inflight.discard)
        res.on_data(on_data)

    def db(res, req):
        res.send(dumps(workload.db_row(int(req.get_parameter(0)))), content_type=ctype)

    app.get("/hello-async", hello_async)
    app.get("/params/:item_id", params)
    app.post("/order", order)
    app.get("/list", lambda res, req: res.send(list_json(), content_type=ctype))
    app.get("/db/:row_id", db)
    app.get("/page", lambda res, req: res.send(page_html(), content_type=HTML))
    return app
