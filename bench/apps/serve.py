"""Serve bench/apps/app.py with one framework: serve.py FRAMEWORK PORT [WORKERS].

    fastapi        uvicorn, 1 worker, uvloop + httptools, access log off
    fastrapi       app.serve("127.0.0.1", port, workers=N), access log off
    fastrapi-pypi  app.serve("127.0.0.1", port) (the PyPI package's API)
"""
import logging
import os
import sys


def main():
    framework, port = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    os.environ["BENCH_FRAMEWORK"] = framework
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    from app import app  # noqa: E402

    if framework.startswith("fastrapi"):
        # make sure the right one of the two packages named fastrapi was imported
        import fastrapi
        ours = os.path.dirname(os.path.dirname(here))
        is_ours = os.path.abspath(fastrapi.__file__).startswith(os.path.join(ours, "fastrapi"))
        if is_ours != (framework == "fastrapi"):
            sys.exit("wrong fastrapi imported for %s: %s" % (framework, fastrapi.__file__))

    if framework == "fastapi":
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
