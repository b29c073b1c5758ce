"""Plugins people install with FastAPI, each in an app as its README shows
(tests/py/plugin_apps/), driven over HTTP three ways -- FastAPI with its
TestClient, fastrapi's native server (fastrapi.testclient), and fastrapi's
ASGI face (Starlette's TestClient) -- with the same printed answers.

The plugins ``import fastapi`` themselves, so the fastrapi runs install the
``fastrapi.compat`` switch first; each run is a subprocess (one framework per
process). The test extras in pyproject.toml install the plugins."""
import importlib.util
import os
import subprocess
import sys

import pytest

from helpers import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
APPS = os.path.join(HERE, "plugin_apps")

PLUGINS = {
    # app file: the modules it needs
    "prometheus_app": ["prometheus_fastapi_instrumentator"],
    "correlation_id_app": ["asgi_correlation_id"],
    "sqlmodel_app": ["sqlmodel"],
    "sqladmin_app": ["sqladmin", "wtforms", "jinja2"],
    "fastapi_users_app": ["fastapi_users", "fastapi_users_db_sqlalchemy", "aiosqlite"],
    "slowapi_app": ["slowapi", "limits"],
    "pagination_app": ["fastapi_pagination"],
    "fastapi_cache_app": ["fastapi_cache"],
}

PRELUDES = {
    "fastapi": "import warnings; warnings.simplefilter('ignore')\n"
               "from fastapi.testclient import TestClient\n",
    "native": "import warnings; warnings.simplefilter('ignore')\n"
              "import fastrapi.compat; fastrapi.compat.install()\n"
              "from fastrapi.testclient import TestClient\n",
    "asgi": "import warnings; warnings.simplefilter('ignore')\n"
            "import fastrapi.compat; fastrapi.compat.install()\n"
            "from starlette.testclient import TestClient\n",
}

# what shows that the run reached the end (each app prints it as its last lines)
EXPECT = {
    "prometheus_app": 'http_requests_total{handler="/items/{item_id}",method="GET",status="2xx"} 2.0',
    "correlation_id_app": "[True, True, 32, 32]",
    "sqlmodel_app": 'GET /heroes/ 200 [{"name":"Deadpond","age":30,"id":1}]',
    "sqladmin_app": "rows=['1', 'alice', '2', 'bobby']",
    "fastapi_users_app": "200 None {'message': 'Hello king.arthur@camelot.bt!'}",
    # the third call in the minute: slowapi's 429 body with its X-RateLimit-* headers
    "slowapi_app": '/home 429 {"error":"Rate limit exceeded: 2 per 1 minute"} application/json 2 0 True',
    "pagination_app": '/v2/explicit?size=2&page=2 200 {"items":[{"name":"User20","surname":"Surname20"},'
                      '{"name":"User19","surname":"Surname19"}],"total":23,"page":2,"size":2,"pages":12}',
    # the handler ran once per key: the second call was served from the cache
    "fastapi_cache_app": "{'index': 3, 'item': 3, 'sync': 1, 'model': 1}",
}


def run(app, face):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(os.path.join(APPS, app + ".py")) as f:
        source = f.read()
    p = subprocess.run([sys.executable, "-c", PRELUDES[face] + source], env=env, cwd=HERE,
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, f"{app} on {face}:\n{p.stderr}"
    return p.stdout


@pytest.fixture(scope="module")
def reference():
    return {}


@pytest.mark.parametrize("face", ["native", "asgi"])
@pytest.mark.parametrize("app", sorted(PLUGINS))
def test_plugin_like_fastapi(app, face, reference):
    for mod in PLUGINS[app]:
        assert importlib.util.find_spec(mod), f"{mod} missing: pip install -e '.[test]'"
    if app not in reference:
        reference[app] = run(app, "fastapi")
    ref = reference[app]
    assert EXPECT[app] in ref, ref  # the reference itself is meaningful
    ours = run(app, face)
    assert ours.splitlines() == ref.splitlines()
