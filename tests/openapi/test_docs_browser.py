"""Headless Chromium loads Swagger UI served by the app (assets from the
``swagger-ui-bundle`` package, served locally — no internet) and the
rendered DOM must list every operation of the OpenAPI document.

``swagger-ui-bundle`` ships Swagger UI 4.15, which refuses documents whose
``openapi`` field is 3.1.x ("Unable to render this definition"), so the
served app sets ``openapi_version = "3.0.3"`` (a documented FastAPI app
attribute); the rest of the document is unchanged. The FastAPI run is the
reference that proves the harness itself works.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import pytest

from .corpus import fastrapi_fw
from .liveserver import live_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
APPS = ["a28_routers", "a33_security_scopes", "a10_body_model"]


def dump_dom(url: str) -> str:
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def expected_operations(doc):
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            tag = (op.get("tags") or ["default"])[0]
            ops.append((path, method, tag, op["operationId"]))
    return ops


@pytest.mark.parametrize("app_name", APPS)
@pytest.mark.parametrize("fw_name", ["fastapi", "fastrapi"])
def test_swagger_ui_renders_every_operation(fw_name, app_name):
    assert CHROMIUM is not None, "chromium missing: ./run-tests installs the Debian package"
    import swagger_ui_bundle  # noqa: F401  (a [test] extra)
    if fw_name == "fastrapi":
        fastrapi_fw()
    with live_app(fw_name, app_name, "--local-docs", "--openapi-3.0") as base:
        doc = httpx.get(base + "/openapi.json", timeout=10).json()
        assert doc["openapi"] == "3.0.3"
        html = httpx.get(base + "/local-docs", timeout=10).text
        assert '/_assets/swagger-ui-bundle.js' in html
        dom = dump_dom(base + "/local-docs")
    assert "Unable to render this definition" not in dom
    rendered_ids = set(re.findall(r'id="operations-([^"]+)"', dom))
    rendered_paths = set(re.findall(r'data-path="([^"]+)"', dom))
    ops = expected_operations(doc)
    assert ops, "the app has operations"
    for path, method, tag, op_id in ops:
        assert f"{tag}-{op_id}" in rendered_ids, (op_id, sorted(rendered_ids))
        assert path in rendered_paths, (path, sorted(rendered_paths))
    if "securitySchemes" in doc.get("components", {}):
        assert "authorize" in dom.lower()
