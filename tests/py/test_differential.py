"""Differential tests: the same app source under FastAPI and fastrapi must give
identical status codes, bodies and key headers."""
import importlib
import json

import pytest

from conftest import framework

APPS = ["params_app", "body_app", "resp_app", "deps_app", "di_app"]
KEY_HEADERS = ["content-type", "location", "allow", "x-custom", "x-injected", "x-err",
               "content-disposition"]

_clients = {}


def clients(app_name):
    if app_name not in _clients:
        mod = importlib.import_module(f"diff_apps.{app_name}")
        from fastapi.testclient import TestClient as FATC
        from fastrapi.testclient import TestClient as FRTC
        fa_app = mod.make_app(framework("fastapi"))
        fr_app = mod.make_app(framework("fastrapi"))
        _clients[app_name] = (FATC(fa_app, raise_server_exceptions=False), FRTC(fr_app, raise_server_exceptions=False), mod)
    return _clients[app_name]


def cases():
    for app_name in APPS:
        mod = importlib.import_module(f"diff_apps.{app_name}")
        for i, (method, url, kw) in enumerate(mod.CASES):
            yield pytest.param(app_name, method, url, kw, id=f"{app_name}-{i}-{method}-{url}")


def body_of(r):
    ct = r.headers.get("content-type", "")
    if ct.startswith("application/json") and r.content:
        return json.loads(r.content)
    return r.content


@pytest.mark.parametrize("app_name,method,url,kw", list(cases()))
def test_same_answer(app_name, method, url, kw):
    fa, fr, _ = clients(app_name)
    kw = dict(kw)
    ra = fa.request(method, url, follow_redirects=False, **kw)
    rb = fr.request(method, url, follow_redirects=False, **kw)
    assert rb.status_code == ra.status_code, (ra.text, rb.text)
    assert body_of(rb) == body_of(ra)
    if ra.headers.get("content-type", "").startswith("application/json"):
        assert rb.content == ra.content  # byte-identical JSON
    for h in KEY_HEADERS:
        assert rb.headers.get(h) == ra.headers.get(h), h
    assert sorted(rb.headers.get_list("set-cookie")) == sorted(ra.headers.get_list("set-cookie"))
