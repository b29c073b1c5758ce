"""TestClient re-raises the app's unhandled exceptions like Starlette's
(raise_server_exceptions=True by default) and answers 500 when asked not to."""
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient as FastAPIClient

from fastrapi import FastrAPI, HTTPException
from fastrapi.testclient import TestClient


class Boom(Exception):
    pass


def _app(fw_app, HTTPExc):
    @fw_app.get("/boom")
    def boom():
        raise Boom("kaput")

    @fw_app.get("/aboom")
    async def aboom():
        raise Boom("async kaput")

    @fw_app.get("/http")
    def http():
        raise HTTPExc(418, "teapot")

    @fw_app.get("/ok")
    def ok():
        return {"ok": True}
    return fw_app


@pytest.mark.parametrize("path", ["/boom", "/aboom"])
def test_unhandled_exception_is_raised_in_the_test(path):
    import fastapi
    for client in (TestClient(_app(FastrAPI(), HTTPException)),
                   FastAPIClient(_app(FastAPI(), fastapi.HTTPException))):
        with client:
            with pytest.raises(Boom):
                client.get(path)
            # the client and the server stay usable afterwards
            assert client.get("/ok").json() == {"ok": True}
            assert client.get("/http").status_code == 418


def test_raise_server_exceptions_false_gives_500_like_starlette():
    import fastapi
    ours = TestClient(_app(FastrAPI(), HTTPException), raise_server_exceptions=False)
    theirs = FastAPIClient(_app(FastAPI(), fastapi.HTTPException), raise_server_exceptions=False)
    with ours, theirs:
        a, b = ours.get("/boom"), theirs.get("/boom")
        assert a.status_code == b.status_code == 500
        assert a.text == b.text == "Internal Server Error"
