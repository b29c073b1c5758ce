"""Serve one benchmark app with one framework: serve.py FRAMEWORK PORT [N].

bench/apps/app.py (the FastAPI-shaped source) with:
    fastapi          uvicorn, 1 worker, uvloop + httptools, access log off
    fastapi-granian  granian, ASGI, 1 worker, uvloop, HTTP/1, logs off
    fastrapi         app.serve("127.0.0.1", port, workers=N), access log off
    fastrapi-pypi    app.serve("127.0.0.1", port) (the PyPI package's API)
    fastrapi-uvicorn this repository's fastrapi as an ASGI app under uvicorn
                     (uvloop + httptools, as FastAPI's row): the ASGI face
bench/apps/peers.py with:
    rsgi             granian, RSGI, 1 worker, a bare RSGI callable
    blacksheep       BlackSheep on granian, ASGI, 1 worker, uvloop
    robyn            Robyn, 1 process, 1 worker
    socketify        socketify.py, one App, one process
and the scale app:
    fastrapi-routes  fastrapi serving /hello among N routes in all (routes_app)
"""
import logging
import pathlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def routes_app(n):
    """A fastrapi app of n routes in all: n - 1 others (static, int path param
    and two-segment shapes, registered first) and GET /hello last."""
    from fastrapi import FastrAPI
    app = FastrAPI()
    for i in range(n - 1):
        if i % 3 == 0:
            app.get("/static%d/list" % i)(lambda: {"ok": True})
        elif i % 3 == 1:
            app.get("/param%d/{item_id}" % i)(lambda item_id: {"item_id": item_id})
        else:
            app.get("/two%d/{a}/items/{b}" % i)(lambda a, b: {"a": a, "b": b})
    app.get("/hello")(lambda: {"message": "Hello World"})
    return app


def granian(target, port, interface, factory=False):
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    Granian(target, address="127.0.0.1", port=port, interface=Interfaces(interface),
            workers=1, loop=Loops.uvloop, http=HTTPModes.http1, log_enabled=False,
            factory=factory, working_dir=pathlib.Path(HERE)).serve()


def serve_peer(framework, port):
    os.environ["PYTHONPATH"] = HERE + os.pathsep + os.environ.get("PYTHONPATH", "")
    if framework == "fastapi-granian":
        os.environ["BENCH_FRAMEWORK"] = "fastapi"
        granian("app:app", port, "asgi")
    elif framework == "rsgi":
        granian("peers:rsgi_app", port, "rsgi")
    elif framework == "blacksheep":
        granian("peers:blacksheep_app", port, "asgi", factory=True)
    elif framework == "robyn":
        sys.argv[1:] = []  # Robyn parses the command line itself
        import peers
        peers.robyn_app().start(host="127.0.0.1", port=port, _check_port=False)
    elif framework == "socketify":
        import peers
        from socketify import AppListenOptions
        peers.socketify_app().listen(AppListenOptions(port=port, host="127.0.0.1")).run()
    else:
        sys.exit("unknown framework %r" % framework)


def main():
    framework, port = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    sys.path.insert(0, HERE)
    if framework in ("fastapi-granian", "rsgi", "blacksheep", "robyn", "socketify"):
        return serve_peer(framework, port)
    if framework == "fastrapi-routes":
        logging.getLogger("fastrapi.access").disabled = True
        return routes_app(workers).serve("127.0.0.1", port)
    asgi_face = framework == "fastrapi-uvicorn"
    if asgi_face:
        framework = "fastrapi"
    os.environ["BENCH_FRAMEWORK"] = framework
    from app import app  # noqa: E402

    if framework.startswith("fastrapi"):
        # make sure the right one of the two packages named fastrapi was imported
        import fastrapi
        ours = os.path.dirname(os.path.dirname(HERE))
        is_ours = os.path.abspath(fastrapi.__file__).startswith(os.path.join(ours, "fastrapi"))
        if is_ours != (framework == "fastrapi"):
            sys.exit("wrong fastrapi imported for %s: %s" % (framework, fastrapi.__file__))

    if framework == "fastapi" or asgi_face:
        import uvicorn
        uvicorn.run(app, host="127.0.0.1", port=port, workers=1, loop="uvloop",
                    http="httptools", log_level="warning", access_log=False)
    elif framework == "fastrapi":
        logging.getLogger("fastrapi.access").disabled = True
        if workers > 1:
            app.serve("127.0.0.1", port, workers=workers)
        else:
            app.serve("127.0.0.1", port)
    elif framework == "fastrapi-pypi":
        app.serve("127.0.0.1", port)
    else:
        sys.exit("unknown framework %r" % framework)


if __name__ == "__main__":
    main()
