"""OpenTelemetry's FastAPI instrumentation (a real plugin from PyPI) on a
fastrapi app. ``FastAPIInstrumentor.instrument_app(app)`` replaces
``app.build_middleware_stack`` on the instance; fastrapi built its Python
stack only for apps with user middleware, so the replacement never ran and
no span was recorded. A replaced (or subclass-overridden) stack now serves
every request, on the native server too."""
import pytest
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from conftest import framework
from helpers import served, wait_until


def make_app(fw):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = fw.FastAPI()

    @app.get("/items/{item_id}")
    def read(item_id: int):
        return {"id": item_id}

    @app.get("/boom")
    def boom():
        raise ValueError("no")

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    return app, exporter


def server_spans(exporter):
    out = []
    for s in exporter.get_finished_spans():
        if s.kind.name == "SERVER":
            a = s.attributes
            out.append((s.name, a.get("http.route"), a.get("http.status_code"), s.status.status_code.name,
                        [e.name for e in s.events]))
    return out


def session(kind, name):
    app, exporter = make_app(framework(name))
    with served(app, kind, raise_server_exceptions=False) if kind in ("fastapi", "fastrapi") \
            else served(app, kind) as c:
        results = []
        for path in ("/items/3", "/items/x", "/boom", "/nowhere"):
            exporter.clear()
            r = c.get(path)
            if kind in ("fastapi", "fastrapi"):  # the TestClient returns once the ASGI call is done
                spans = server_spans(exporter)
            else:  # a real server: the span ends after the client has its answer
                wait_until(lambda: server_spans(exporter), timeout=10)
                spans = server_spans(exporter)
            results.append((path, r.status_code, spans))
    return results


def test_testclient_spans_match_fastapi():
    want = session("fastapi", "fastapi")
    assert session("fastrapi", "fastrapi") == want
    assert want[0] == ("/items/3", 200, [("GET /items/{item_id}", "/items/{item_id}", 200, "UNSET", [])])
    assert want[2][1] == 500 and want[2][2][0][3] == "ERROR" and "exception" in want[2][2][0][4]


@pytest.mark.parametrize("kind", ["native", "fastrapi-uvicorn"])
def test_servers_record_the_spans(kind):
    assert session(kind, "fastrapi") == session("fastapi", "fastapi")


@pytest.mark.parametrize("name", ["fastapi", "fastrapi"])
def test_subclass_build_middleware_stack_is_used(name):
    fw = framework(name)

    class Tagged(fw.FastAPI):
        def build_middleware_stack(self):
            inner = super().build_middleware_stack()

            async def tag(scope, receive, send):
                async def send_tagged(message):
                    if message["type"] == "http.response.start":
                        message["headers"] = list(message["headers"]) + [(b"x-stack", b"custom")]
                    await send(message)
                await inner(scope, receive, send_tagged)
            return tag

    app = Tagged()

    @app.get("/")
    def root():
        return {"ok": True}

    for kind in ([name] if name == "fastapi" else ["fastrapi", "native"]):
        with served(app, kind) as c:
            r = c.get("/")
            assert (r.status_code, r.json(), r.headers.get("x-stack")) == (200, {"ok": True}, "custom")
