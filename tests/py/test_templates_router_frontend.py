"""Jinja2 templates and ``APIRouter.frontend``, differential against FastAPI.

The bodies issue lists ``Jinja2Templates`` (``fastapi.templating``),
``TemplateResponse`` and ``request.url_for`` / ``app.url_path_for``, and
FastAPI 0.165 has ``APIRouter.frontend`` carried over by ``include_router``
under its prefix. The same app source runs on FastAPI + uvicorn and on
fastrapi's native server; answers are compared over raw sockets (status,
headers minus date/server/connection, body bytes), as tests/py/test_static.py
does."""
import os

import pytest

from conftest import framework
from helpers import Uvicorn
from test_static import _write, normalise, raw_request


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tpl")
    tpl, static, spa, docs = (str(root / n) for n in ("templates", "static", "spa", "docs"))
    for name, data in {
        "item.html": b'<h1>Item {{ id }}</h1><a href="{{ url_for(\'read_item\', id=id) }}">self</a>'
                     b'<link href="{{ url_for(\'static\', path=\'/site.css\') }}">'
                     b"<p>{{ request.url.path }}?{{ request.query_params }}</p>"
                     b"{% for t in tags %}<i>{{ t }}</i>{% endfor %}",
        "missing.html": b"<p>no item {{ id }}</p>",
        "escape.html": b"<p>{{ text }}</p>",
    }.items():
        _write(os.path.join(tpl, name), data)
    _write(os.path.join(static, "site.css"), b"body{}")
    for name, data in {"index.html": b"<h1>spa</h1>", "assets/app.js": b"spa()"}.items():
        _write(os.path.join(spa, name), data)
    for name, data in {"index.html": b"<h1>docs</h1>", "404.html": b"<p>docs 404</p>"}.items():
        _write(os.path.join(docs, name), data)
    return {"tpl": tpl, "static": static, "spa": spa, "docs": docs}


def make_app(fw, d):
    from importlib import import_module
    templating = import_module(fw.name + ".templating")
    StaticFiles = import_module(fw.name + ".staticfiles").StaticFiles
    templates = templating.Jinja2Templates(directory=d["tpl"])
    app = fw.FastAPI()
    app.mount("/static", StaticFiles(directory=d["static"]), name="static")

    @app.get("/items/{id}", response_class=fw.responses.HTMLResponse, name="read_item")
    def read_item(request: fw.Request, id: int, tags: str = ""):
        if id == 0:
            return templates.TemplateResponse(request=request, name="missing.html",
                                              context={"id": id}, status_code=404)
        return templates.TemplateResponse(request=request, name="item.html",
                                          context={"id": id, "tags": tags.split(",") if tags else []})

    @app.get("/escape")
    def escape(request: fw.Request, text: str):
        return templates.TemplateResponse(request, "escape.html", {"text": text},
                                          headers={"x-t": "1"})

    @app.get("/paths")
    def paths(request: fw.Request):
        return {"url_path_for": str(app.url_path_for("read_item", id=7)),
                "url_for": str(request.url_for("read_item", id=8)),
                "static": str(request.url_for("static", path="/site.css"))}

    router = fw.APIRouter()

    @router.get("/api/ping")
    def ping():
        return {"pong": True}

    router.frontend("/", directory=d["spa"])
    router.frontend("/docs", directory=d["docs"], fallback="404.html")
    app.include_router(router, prefix="/ui")
    return app


@pytest.fixture(scope="module")
def servers(dirs):
    fa = Uvicorn(make_app(framework("fastapi"), dirs))
    fr = make_app(framework("fastrapi"), dirs)._start_background("127.0.0.1", 0)
    yield fa, fr
    fa.close()
    fr.stop()


NAV = ("Accept", "text/html,application/xhtml+xml")
CASES = [
    ("GET", "/items/3", ()),
    ("GET", "/items/3?tags=a,b%3Cc", ()),
    ("GET", "/items/0", ()),
    ("GET", "/items/x", ()),
    ("HEAD", "/items/3", ()),
    ("GET", "/escape?text=%3Cscript%3Ealert(1)%3C/script%3E", ()),
    ("GET", "/paths", ()),
    ("GET", "/static/site.css", ()),
    # APIRouter.frontend under include_router(prefix="/ui")
    ("GET", "/ui/api/ping", ()),
    ("GET", "/ui", ()),
    ("GET", "/ui/", ()),
    ("GET", "/ui/assets/app.js", ()),
    ("GET", "/ui/assets/missing.js", ()),
    ("GET", "/ui/some/client/route", (NAV,)),
    ("GET", "/ui/some/client/route", ()),
    ("GET", "/ui/docs", ()),
    ("GET", "/ui/docs/nothing", (NAV,)),
    ("POST", "/ui/assets/app.js", ()),
    ("GET", "/assets/app.js", ()),
]


@pytest.mark.parametrize("method,target,headers", CASES,
                         ids=[f"{i}-{m}-{t[:40]}" for i, (m, t, _) in enumerate(CASES)])
def test_same_answer_as_fastapi(servers, method, target, headers):
    fa, fr = servers
    want = normalise(raw_request(fa.port, method, target, headers))
    got = normalise(raw_request(fr.port, method, target, headers))
    assert got == want


def test_router_frontend_checks_like_fastapi(tmp_path):
    for name in ("fastapi", "fastrapi"):
        fw = framework(name)
        r = fw.APIRouter()
        with pytest.raises(AssertionError, match="must start with '/'"):
            r.frontend("ui", directory=str(tmp_path))
        with pytest.raises(RuntimeError, match="does not exist"):
            r.frontend("/", directory=str(tmp_path / "nope"))


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_testclient_response_has_template_and_context(dirs, name):
    """Starlette's TestClient gives a template answer's ``response.template``
    and ``response.context`` (its http.response.debug message); the docs'
    template tests assert on them. fastrapi's TestClient (a real socket)
    had neither."""
    from importlib import import_module
    TestClient = import_module(name + ".testclient").TestClient
    app = make_app(framework(name), dirs)
    with TestClient(app) as client:
        r = client.get("/items/5?tags=a,b")
        assert r.template.name == "item.html"
        assert r.context["id"] == 5 and r.context["tags"] == ["a", "b"]
        assert "request" in r.context
        r = client.get("/items/0")
        assert (r.status_code, r.template.name, r.context["id"]) == (404, "missing.html", 0)
        r = client.get("/paths")  # not a template: no attributes
        assert not hasattr(r, "template") and not hasattr(r, "context")
