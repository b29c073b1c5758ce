"""TestClient and redirects/cookies: fastrapi's TestClient (httpx over a real
socket) must behave like Starlette's for the same app. The request httpx keeps
is addressed to http://testserver, so the slash redirect (307 to
http://testserver/items/) stays on the same origin: Authorization is kept, and
cookies are stored for testserver and sent back."""
import warnings

import pytest

from conftest import framework


def make_app(fw):
    app = fw.FastAPI()

    @app.get("/items/")
    def items(request: fw.Request):
        return {"auth": request.headers.get("authorization"),
                "host": request.headers.get("host"), "url": str(request.url)}

    @app.post("/items/")
    async def post_items(request: fw.Request):
        return {"auth": request.headers.get("authorization"),
                "body": (await request.body()).decode()}

    @app.get("/away")
    def away():
        return fw.responses.RedirectResponse("http://elsewhere.example/items/")

    @app.get("/set")
    def set_cookie():
        r = fw.responses.JSONResponse({"set": True})
        r.set_cookie("sid", "abc")
        return r

    @app.get("/get")
    def get_cookie(request: fw.Request):
        return {"sid": request.cookies.get("sid")}

    return app


@pytest.fixture(scope="module")
def pair():
    from fastrapi.testclient import TestClient as FRTC
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette: "install httpx2"
        from fastapi.testclient import TestClient as FATC
        fa = FATC(make_app(framework("fastapi")))
    fr = FRTC(make_app(framework("fastrapi")))
    with fa, fr:
        yield fa, fr


def summary(r):
    return {"status": r.status_code, "json": r.json(), "url": str(r.url),
            "history": [(h.status_code, h.headers.get("location"), str(h.url))
                        for h in r.history]}


def test_slash_redirect_keeps_authorization(pair):
    fa, fr = pair
    theirs = summary(fa.get("/items", headers={"Authorization": "Bearer x"}))
    assert theirs == {
        "status": 200,
        "json": {"auth": "Bearer x", "host": "testserver", "url": "http://testserver/items/"},
        "url": "http://testserver/items/",
        "history": [(307, "http://testserver/items/", "http://testserver/items")]}
    assert summary(fr.get("/items", headers={"Authorization": "Bearer x"})) == theirs


def test_slash_redirect_307_keeps_method_body_and_authorization(pair):
    fa, fr = pair
    kw = {"headers": {"Authorization": "Basic YTpi"}, "content": b"payload"}
    theirs = summary(fa.post("/items", **kw))
    assert theirs["status"] == 200
    assert theirs["json"] == {"auth": "Basic YTpi", "body": "payload"}
    assert summary(fr.post("/items", **kw)) == theirs


def test_redirect_not_followed(pair):
    fa, fr = pair
    a = fa.get("/items", headers={"Authorization": "Bearer x"}, follow_redirects=False)
    b = fr.get("/items", headers={"Authorization": "Bearer x"}, follow_redirects=False)
    assert (a.status_code, a.headers["location"], str(a.url)) == \
        (307, "http://testserver/items/", "http://testserver/items")
    assert (b.status_code, b.headers["location"], str(b.url)) == \
        (a.status_code, a.headers["location"], str(a.url))


def test_cross_origin_redirect_drops_authorization(pair):
    """A redirect to another origin: both clients send it to the app again
    (Starlette's transport ignores the host) and drop Authorization."""
    fa, fr = pair
    theirs = fa.get("/away", headers={"Authorization": "Bearer x"})
    ours = fr.get("/away", headers={"Authorization": "Bearer x"})
    assert theirs.status_code == 200
    assert theirs.json() == {"auth": None, "host": "elsewhere.example",
                             "url": "http://elsewhere.example/items/"}
    assert (ours.status_code, ours.json(), str(ours.url)) == \
        (theirs.status_code, theirs.json(), str(theirs.url))


def test_cookie_set_by_the_app_is_sent_back(pair):
    fa, fr = pair
    out = []
    for client in (fa, fr):
        client.cookies.clear()
        r = client.get("/set")
        out.append((r.json(), client.get("/get").json(),
                    [(c.name, c.value, c.domain) for c in client.cookies.jar]))
    assert out[0] == ({"set": True}, {"sid": "abc"}, [("sid", "abc", "testserver.local")])
    assert out[1] == out[0]
