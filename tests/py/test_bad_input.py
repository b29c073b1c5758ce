"""Bad input for every parameter kind: exact FastAPI-style 422s, nothing leaks,
the server keeps serving."""
from typing import List, Optional

import pytest
from pydantic import BaseModel

from fastrapi import Body, Cookie, FastrAPI, Form, Header, Path, Query
from fastrapi.testclient import TestClient


class Model(BaseModel):
    x: int


app = FastrAPI()


@app.get("/p/{i}")
def p(i: int = Path(ge=1)):
    return i


@app.get("/q")
def q(i: int, f: float = 0.0, b: bool = False, l: List[int] = Query([])):
    return [i, f, b, l]


@app.get("/h")
def h(x_i: int = Header()):
    return x_i


@app.get("/c")
def c(k: int = Cookie()):
    return k


@app.post("/b")
def b(m: Model):
    return m


@app.post("/f")
def f(n: int = Form()):
    return n


@pytest.fixture(scope="module")
def client():
    with TestClient(app) as cl:
        yield cl


def err(r):
    assert r.status_code == 422, r.text
    return r.json()["detail"]


def test_path(client):
    assert err(client.get("/p/x")) == [{"type": "int_parsing", "loc": ["path", "i"],
                                        "msg": "Input should be a valid integer, unable to parse string as an integer",
                                        "input": "x"}]
    assert err(client.get("/p/0"))[0]["type"] == "greater_than_equal"
    assert err(client.get("/p/0"))[0]["ctx"] == {"ge": 1}


def test_query(client):
    assert err(client.get("/q")) == [{"type": "missing", "loc": ["query", "i"],
                                      "msg": "Field required", "input": None}]
    d = err(client.get("/q?i=1&f=x&b=maybe&l=1&l=z"))
    assert [e["loc"] for e in d] == [["query", "f"], ["query", "b"], ["query", "l", 1]]
    assert [e["type"] for e in d] == ["float_parsing", "bool_parsing", "int_parsing"]
    assert client.get("/q?i=5&f=2.5&b=on&l=3").json() == [5, 2.5, True, [3]]


def test_header_and_cookie(client):
    assert err(client.get("/h"))[0]["loc"] == ["header", "x-i"]
    assert err(client.get("/h", headers={"x-i": "nan"}))[0]["input"] == "nan"
    assert client.get("/h", headers={"X-I": "7"}).json() == 7
    assert err(client.get("/c"))[0]["loc"] == ["cookie", "k"]
    assert err(client.get("/c", headers={"cookie": "k=v"}))[0]["type"] == "int_parsing"
    assert client.get("/c", headers={"cookie": "a=1; k=9"}).json() == 9


def test_body(client):
    assert err(client.post("/b")) == [{"type": "missing", "loc": ["body"], "msg": "Field required",
                                       "input": None}]
    d = err(client.post("/b", content=b'{"x": ', headers={"content-type": "application/json"}))
    assert d[0]["type"] == "json_invalid" and d[0]["loc"] == ["body", 6]
    assert err(client.post("/b", json={"x": "q"}))[0]["loc"] == ["body", "x"]
    assert err(client.post("/b", json=[1]))[0]["type"] == "model_attributes_type"
    # FastAPI: json.loads raises something other than JSONDecodeError
    # (UnicodeDecodeError, RecursionError) -> 400, not a 422
    r = client.post("/b", content=b"\xff\xfe\x00", headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"detail": "There was an error parsing the body"})
    deep = b"[" * 5000 + b"]" * 5000
    r = client.post("/b", content=deep, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"detail": "There was an error parsing the body"})


def test_form(client):
    assert err(client.post("/f", data={}))[0]["loc"] == ["body", "n"]
    assert err(client.post("/f", data={"n": "z"}))[0]["type"] == "int_parsing"
    assert client.post("/f", data={"n": "4"}).json() == 4


def test_garbage_requests_then_still_serving(client):
    import socket
    bad = (b"400 Bad Request", b'{"detail":"Bad Request"}')
    for raw, (status, body) in [
            (b"GET / HTTP/1.1\r\n\r\n", bad),  # HTTP/1.1 without Host
            (b"\x00\x01\x02\r\n\r\n", bad),
            (b"GET /q?i=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n", bad),  # smuggling shape
            (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
             (b"414 Request-URI Too Long", b'{"detail":"Request-URI Too Long"}'))]:
        with socket.create_connection(("127.0.0.1", client.port), timeout=10) as s:
            s.sendall(raw)
            data = b""
            while True:  # the server closes after an error answer
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _, got = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        assert lines[0] == b"HTTP/1.1 " + status, data[:60]
        assert b"connection: close" in [x.lower() for x in lines[1:]], head
        assert got == body, data
    assert client.get("/q?i=1").status_code == 200
