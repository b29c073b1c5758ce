"""Differential tests: the same app source under FastAPI and fastrapi must give
identical status codes, bodies and key headers."""
import email.utils
import importlib
import json
import re

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


_EXPIRES = re.compile(r"expires=([^;]+)")


def cookies_of(r):
    """The response's Set-Cookie headers, sorted, each with its `expires=` date
    taken out: (header with the date replaced, the date as a timestamp).
    FastAPI's delete_cookie writes the current time, and the two requests may
    straddle a second boundary; the dates are compared with a tolerance."""
    out = []
    for h in r.headers.get_list("set-cookie"):
        m = _EXPIRES.search(h)
        when = email.utils.parsedate_to_datetime(m.group(1)).timestamp() if m else None
        out.append((_EXPIRES.sub("expires=<date>", h), when))
    return sorted(out, key=lambda c: c[0])


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
    ca, cb = cookies_of(ra), cookies_of(rb)
    assert [h for h, _ in cb] == [h for h, _ in ca]
    for (_, wa), (_, wb) in zip(ca, cb):
        assert (wa is None) == (wb is None)
        if wa is not None:
            assert abs(wb - wa) <= 2, (wa, wb)
