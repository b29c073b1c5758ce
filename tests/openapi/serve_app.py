"""Serve one corpus application over real HTTP (run as a subprocess by the
browser and schemathesis tests).

    python -m tests.openapi.serve_app {fastapi|fastrapi} APP_NAME PORT [--local-docs]

``--local-docs`` replaces /docs with a Swagger UI page whose JavaScript and
CSS come from the ``swagger-ui-bundle`` package, served by the app itself
under /_assets/ — FastAPI's documented self-hosting recipe, same source for
both frameworks. Binds 127.0.0.1 only.
"""
from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path

ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")


def swagger_assets_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def add_local_docs(fw, app):
    docs = importlib.import_module(f"{fw.__name__}.openapi.docs")
    assets = swagger_assets_dir()
    media = {"js": "application/javascript", "css": "text/css"}

    def make_asset_route(name):
        data = (assets / name).read_bytes()
        kind = media[name.rsplit(".", 1)[1]]

        def asset():
            return fw.responses.Response(content=data, media_type=kind)

        asset.__name__ = "asset_" + name.replace("-", "_").replace(".", "_")
        app.get("/_assets/" + name, include_in_schema=False)(asset)

    for name in ASSETS:
        make_asset_route(name)

    @app.get("/local-docs", include_in_schema=False)
    def local_docs():
        return docs.get_swagger_ui_html(
            openapi_url=app.openapi_url, title=app.title + " - Swagger UI",
            swagger_js_url="/_assets/swagger-ui-bundle.js",
            swagger_css_url="/_assets/swagger-ui.css",
            swagger_favicon_url="/_assets/none.png")


def main(argv):
    fw_name, app_name, port = argv[1], argv[2], int(argv[3])
    local_docs = "--local-docs" in argv[4:]
    fw = importlib.import_module(fw_name)
    importlib.import_module(fw_name + ".responses")
    importlib.import_module(fw_name + ".security")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = importlib.import_module(f"tests.openapi.apps.{app_name}").make_app(fw)
    if "--openapi-3.0" in argv[4:]:
        app.openapi_version = "3.0.3"
    if local_docs:
        add_local_docs(fw, app)
    if fw_name == "fastapi":
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    else:
        app.serve("127.0.0.1", port)


if __name__ == "__main__":
    main(sys.argv)
