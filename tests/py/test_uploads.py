"""Uploads: multipart/form-data parsed by the engine (src/multipart.c) and
FastAPI's upload API on top of it.

The same app source runs on real FastAPI (uvicorn) and on fastrapi (its
native server), both driven over HTTP with httpx: every request must get
the same status and byte-identical JSON, uploads small and 3 MB, several
files, repeated keys, bytes = File(), and malformed bodies (no boundary,
truncated, bad headers, over each limit). The engine's parser is also
compared with Starlette's MultiPartParser (python-multipart) on thousands
of generated and mutated bodies."""
import asyncio
import hashlib
import random
import textwrap

import httpx
import pytest

from conftest import framework
from helpers import serve_both

APP_SOURCE = textwrap.dedent('''
    import hashlib
    from typing import Annotated, List, Optional, Union

    def make_app(fw):
        app = fw.FastAPI()
        File, Form, UploadFile = fw.File, fw.Form, fw.UploadFile

        def desc(f):
            data = f.file.read()
            f.file.seek(0)
            return {"filename": f.filename, "content_type": f.content_type, "size": f.size,
                    "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in f.headers.raw],
                    "sha": hashlib.sha256(data).hexdigest(), "len": len(data),
                    "head": data[:20].decode("latin-1"),
                    "type": type(f).__module__ + "." + type(f).__qualname__,
                    "rolled": bool(getattr(f.file, "_rolled", None))}

        @app.post("/form")
        def form(a: str = Form(), b: List[str] = Form([]), n: int = Form(0)):
            return {"a": a, "b": b, "n": n}

        @app.post("/file")
        def file(up: UploadFile):
            return desc(up)

        @app.post("/file-async")
        async def file_async(up: UploadFile = File(...)):
            first = await up.read(5)
            await up.seek(0)
            whole = await up.read()
            return {"first": first.decode("latin-1"), "len": len(whole),
                    "sha": hashlib.sha256(whole).hexdigest()}

        @app.post("/bytes")
        def as_bytes(data: bytes = File()):
            return {"len": len(data), "sha": hashlib.sha256(data).hexdigest(),
                    "head": data[:20].decode("latin-1")}

        @app.post("/bytes-limited")
        def bytes_limited(data: Annotated[bytes, File(max_length=4)]):
            return {"len": len(data)}

        @app.post("/files")
        def files(files: List[UploadFile]):
            return [desc(f) for f in files]

        @app.post("/lbytes")
        def lbytes(files: List[bytes] = File()):
            return [hashlib.sha256(b).hexdigest()[:12] for b in files]

        @app.post("/optional")
        def optional(up: Optional[UploadFile] = File(None), data: Union[bytes, None] = File(None)):
            return {"up": None if up is None else desc(up), "data": data and len(data)}

        @app.post("/mixed")
        async def mixed(name: str = Form(), tags: List[str] = Form([]), upload: UploadFile = File(),
                        extra: Optional[bytes] = File(None)):
            body = await upload.read()
            return {"name": name, "tags": tags, "upload": [upload.filename, len(body)],
                    "extra": extra.decode("latin-1") if extra is not None else None}

        @app.post("/request-form")
        async def request_form(request: fw.Request):
            form = await request.form()
            out = []
            for k, v in form.multi_items():
                out.append([k, v if isinstance(v, str) else desc(v)])
            return out

        @app.post("/request-form-limits")
        async def request_form_limits(request: fw.Request):
            form = await request.form(max_fields=2, max_files=1, max_part_size=10)
            return len(form)

        return app
''')


def _app_code(name):
    return (APP_SOURCE + f"\nimport {name} as fwmod, types\n"
            "fw = types.SimpleNamespace(**{k: getattr(fwmod, k) for k in dir(fwmod) "
            "if not k.startswith('_')})\napp = make_app(fw)\n")


@pytest.fixture(scope="module")
def servers():
    # on exit serve_both fails if a request made fastrapi log a traceback
    # (a 500 or an escaped exception)
    for ports in serve_both(_app_code):
        yield {n: f"http://127.0.0.1:{port}" for n, port in ports.items()}


def _ask(base, path, **kw):
    with httpx.Client(base_url=base, timeout=60) as c:
        r = c.post(path, **kw)
    return r.status_code, r.headers.get("content-type"), r.content


def same(servers, path, **kw):
    """The request's answer on both; they must be identical. Returns it."""
    a = _ask(servers["fastapi"], path, **kw)
    b = _ask(servers["fastrapi"], path, **kw)
    assert b == a, (path, a[0], a[2][:300], b[0], b[2][:300])
    return a


def mp(parts, boundary="XyZ"):
    """A multipart body from (headers bytes, data bytes) pairs."""
    out = b"".join(b"--" + boundary.encode() + b"\r\n" + h + b"\r\n\r\n" + d + b"\r\n" for h, d in parts)
    return out + b"--" + boundary.encode() + b"--\r\n"


def cd(name, filename=None):
    h = b'Content-Disposition: form-data; name="' + name + b'"'
    return h if filename is None else h + b'; filename="' + filename + b'"'


CT = {"content-type": "multipart/form-data; boundary=XyZ"}
RNG = random.Random(7)
BIG = bytes(RNG.getrandbits(8) for _ in range(3 * 1024 * 1024)).replace(b"\x00", b"\r\n--XyZ-")[:3 * 1024 * 1024]


# ---- well-formed uploads ----

def test_small_form_and_file(servers):
    st, _, body = same(servers, "/form", data={"a": "x", "b": ["1", "2"], "n": "5"},
                       files={"ignored": ("f.txt", b"data", "text/plain")})
    assert st == 200 and body == b'{"a":"x","b":["1","2"],"n":5}'
    st, _, body = same(servers, "/file", files={"up": ("hello.txt", b"hello\r\nworld", "text/plain")})
    assert st == 200 and b'"filename":"hello.txt"' in body and b'"size":12' in body
    assert b'"type":"starlette.datastructures.UploadFile"' in body


def test_3mb_upload_spools_to_disk(servers):
    st, _, body = same(servers, "/file", files={"up": ("big.bin", BIG, "application/octet-stream")})
    assert st == 200, body[:300]
    assert hashlib.sha256(BIG).hexdigest().encode() in body
    assert b'"rolled":true' in body and b'"size":3145728' in body
    st, _, body = same(servers, "/bytes", files={"data": ("big.bin", BIG)})
    assert st == 200 and hashlib.sha256(BIG).hexdigest().encode() in body
    st, _, body = same(servers, "/file-async", files={"up": ("big.bin", BIG)})
    assert st == 200 and hashlib.sha256(BIG).hexdigest().encode() in body


def test_small_file_stays_in_memory(servers):
    st, _, body = same(servers, "/file", files={"up": ("s.bin", b"x" * (1024 * 1024))})
    assert st == 200 and b'"rolled":false' in body


def test_multiple_files_and_repeated_keys(servers):
    files = [("files", ("a.txt", b"A" * 10, "text/plain")), ("files", ("b.bin", b"B" * 70000)),
             ("files", ("c", b""))]
    st, _, body = same(servers, "/files", files=files)
    assert st == 200 and body.count(b'"filename"') == 3
    st, _, body = same(servers, "/lbytes", files=files)
    assert st == 200 and body.count(b",") == 2
    st, _, body = same(servers, "/request-form", data={"k": ["1", "2"]}, files=files)
    assert st == 200 and body.startswith(b'[["k","1"],["k","2"],["files",')


def test_bytes_file_and_its_errors(servers):
    st, _, body = same(servers, "/bytes", files={"data": ("x.bin", b"\x00\x01\xff")})
    assert st == 200 and b'"len":3' in body
    st, _, body = same(servers, "/bytes", data={"data": "as a field"})   # a str becomes bytes
    assert st == 200 and b'"len":10' in body
    st, _, body = same(servers, "/bytes", files={"other": ("x", b"1")})  # missing
    assert st == 422 and b'"missing"' in body
    st, _, body = same(servers, "/bytes-limited", files={"data": ("x", b"12345")})
    assert st == 422 and b'"bytes_too_long"' in body
    st, _, body = same(servers, "/bytes-limited", files={"data": ("x", b"1234")})
    assert st == 200


def test_optional_and_empty_file_inputs(servers):
    st, _, body = same(servers, "/optional", data={"x": "1"}, files={"y": ("f", b"")})
    assert st == 200 and body == b'{"up":null,"data":null}'
    # a file input left empty (filename "" and no data) counts as absent
    empty = mp([(cd(b"up", b""), b""), (cd(b"data", b""), b"")])
    st, _, body = same(servers, "/optional", content=empty, headers=CT)
    assert st == 200 and body == b'{"up":null,"data":null}'
    st, _, body = same(servers, "/file", content=mp([(cd(b"up", b""), b"")]), headers=CT)
    assert st == 422
    st, _, body = same(servers, "/files", content=mp([(cd(b"files", b""), b""), (cd(b"files", b"k"), b"1")]),
                       headers=CT)
    assert st == 200 and body.count(b'"filename"') == 1


def test_form_and_file_mixed(servers):
    st, _, body = same(servers, "/mixed", data={"name": "n", "tags": ["a", "b"]},
                       files={"upload": ("u.txt", b"up"), "extra": ("e", b"ex")})
    assert st == 200 and body == b'{"name":"n","tags":["a","b"],"upload":["u.txt",2],"extra":"ex"}'
    st, _, body = same(servers, "/mixed", data={"tags": ["a"]}, files={"upload": ("u.txt", b"up")})
    assert st == 422 and b'"name"' in body


def test_file_sent_to_a_text_field(servers):
    # pydantic refuses the UploadFile for str / int fields (same 422 body)
    st, _, out = same(servers, "/form", files={"a": ("f.txt", b"123")})
    assert st == 422 and b'"string_type"' in out
    st, _, out = same(servers, "/form", data={"a": "x"}, files={"n": ("f.txt", b"123")})
    assert st == 422 and b'"int_type"' in out
    st, _, out = same(servers, "/form", data={"a": "x"}, files={"b": ("f.txt", b"123")})
    assert st == 422 and b'"string_type"' in out
    st, _, out = same(servers, "/file", data={"up": "not a file"})
    assert st == 422 and b"Expected UploadFile" in out


@pytest.mark.parametrize("disposition", [
    b'form-data; name="up"; filename="r\xc3\xa9sum\xc3\xa9.txt"',          # UTF-8 bytes
    b'form-data; name="up"; filename="C:\\\\Users\\\\me\\\\doc.txt"',       # IE path: last part
    b'form-data; name="up"; filename="a\\"b.txt"',                          # escaped quote
    b'form-data; name="up"; filename=plain.txt; filename*=utf-8\'\'x.txt',  # filename* ignored
    b'form-data; name="up"; filename="../../etc/passwd"',                   # passed through
    b'form-data; NAME=up; FileName=" spaced "',
    b'form-data; name="up"; filename',                                      # bare: empty name
])
def test_filenames_passed_through(servers, disposition):
    body = mp([(b"Content-Disposition: " + disposition + b"\r\nContent-Type: x/y", b"data")])
    st, _, out = same(servers, "/file", content=body, headers=CT)
    assert st == 200 and b'"content_type":"x/y"' in out


def test_charset_parameter(servers):
    body = mp([(cd(b"a"), "é".encode("latin-1"))])
    st, _, out = same(servers, "/form", content=body,
                      headers={"content-type": "multipart/form-data; boundary=XyZ; charset=latin-1"})
    assert st == 200 and out == '{"a":"é","b":[],"n":0}'.encode()
    body = mp([(cd(b"a"), b"\xff\xfe")])  # not UTF-8: read as Latin-1
    st, _, out = same(servers, "/form", content=body, headers=CT)
    assert st == 200 and out == '{"a":"ÿþ","b":[],"n":0}'.encode()


def test_no_multipart_content_type(servers):
    for headers in ({}, {"content-type": "text/plain"}, {"content-type": "application/json"}):
        st, _, out = same(servers, "/form", content=mp([(cd(b"a"), b"v")]), headers=headers)
        assert st == 422 and b'"missing"' in out


# ---- malformed bodies and limits: FastAPI's exact 400 ----

def _many(count, disposition):
    return mp([(disposition, b"v")] * count)


MALFORMED = {
    "no-boundary": (mp([(cd(b"a"), b"v")]), "multipart/form-data", b"Missing boundary in multipart."),
    "empty-boundary": (mp([(cd(b"a"), b"v")]), "multipart/form-data; boundary=", b"Invalid multipart data."),
    "long-boundary": (b"--" + b"b" * 300, "multipart/form-data; boundary=" + "b" * 300, b"Invalid multipart data."),
    "garbage": (b"garbage", None, b"Invalid multipart data."),
    "lf-only": (mp([(cd(b"a"), b"v")]).replace(b"\r\n", b"\n"), None, b"Invalid multipart data."),
    "no-colon": (b"--XyZ\r\nContent-Disposition form-data\r\n\r\nv\r\n--XyZ--", None, b"Invalid multipart data."),
    "bad-header-name": (b"--XyZ\r\nBad Name: v\r\n\r\nv\r\n--XyZ--", None, b"Invalid multipart data."),
    "cr-without-lf": (b"--XyZ\r\nA: v\rX\r\n\r\nv\r\n--XyZ--", None, b"Invalid multipart data."),
    "9-headers": (mp([(cd(b"a") + b"\r\nX: 1" * 8, b"v")]), None, b"Invalid multipart data."),
    "long-header": (mp([(cd(b"a") + b"\r\nX: " + b"v" * 4300, b"v")]), None, b"Invalid multipart data."),
    "bad-padding": (b"--XyZ\r\n" + cd(b"a") + b"\r\n\r\nv\r\n--XyZ  x", None, b"Invalid multipart data."),
    "no-name": (mp([(b"Content-Type: text/plain", b"v")]), None,
                b'The Content-Disposition header field \\"name\\" must be provided.'),
    "no-headers": (mp([(b"", b"v")])[:7] + b"\r\nv\r\n--XyZ--", None,
                   b'The Content-Disposition header field \\"name\\" must be provided.'),
    "1001-fields": (_many(1001, cd(b"b")), None, b"Too many fields. Maximum number of fields is 1000."),
    "1001-files": (_many(1001, cd(b"f", b"x")), None, b"Too many files. Maximum number of files is 1000."),
    "big-field": (mp([(cd(b"a"), b"x" * (1024 * 1024 + 1))]), None, b"Part exceeded maximum size of 1024KB."),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_bodies_get_fastapis_400(servers, case):
    body, ct, detail = MALFORMED[case]
    st, ctype, out = same(servers, "/form", content=body,
                          headers={"content-type": ct or "multipart/form-data; boundary=XyZ"})
    assert st == 400 and ctype == "application/json" and out == b'{"detail":"' + detail + b'"}'


@pytest.mark.parametrize("body", [
    b"",                                                                # empty
    b"--XyZ--",                                                         # an empty form
    b"--XyZ\r\n" + cd(b"a") + b"\r\n\r\nhello",                         # truncated in the data
    b"--XyZ\r\n" + cd(b"a") + b"\r\n\r\nhello\r\n--XyZ",               # truncated at the delimiter
    b"--XyZ\r\n" + cd(b"a") + b"\r\n\r\nhello\r\n--XyZ\r\n" + cd(b"b"),  # truncated in headers
])
def test_truncated_bodies_answer_as_fastapi(servers, body):
    st, _, out = same(servers, "/form", content=body, headers=CT)
    assert st in (200, 422)


def test_limits_edges_pass(servers):
    st, _, out = same(servers, "/form", content=_many(1000, cd(b"b")), headers=CT)
    assert st == 422  # 1000 fields parse; "a" is missing
    st, _, out = same(servers, "/request-form", content=mp([(cd(b"a"), b"x" * (1024 * 1024))]), headers=CT)
    assert st == 200
    st, _, out = same(servers, "/form", content=mp([(cd(b"a") + b"\r\nX: 1" * 7, b"v")]), headers=CT)
    assert st == 200


@pytest.mark.parametrize("parts,status", [
    ([(cd(b"a"), b"1"), (cd(b"b"), b"2")], 200),
    ([(cd(b"a"), b"1"), (cd(b"b"), b"2"), (cd(b"c"), b"3")], 400),
    ([(cd(b"f", b"x"), b"1"), (cd(b"g", b"y"), b"2")], 400),
    ([(cd(b"a"), b"x" * 11)], 400),
    ([(cd(b"f", b"x"), b"x" * 100)], 200),
])
def test_request_form_limits(servers, parts, status):
    st, _, out = same(servers, "/request-form-limits", content=mp(parts), headers=CT)
    assert st == status


# ---- urlencoded forms: the same limits ----

UE = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("path", ["/form", "/request-form"])
@pytest.mark.parametrize("body,status", [
    pytest.param(b"a=1&&b=2&b=3&n=4&", 200, id="plain"),
    pytest.param(b"a=" + b"x" * (1024 * 1024 - 1), 200, id="1MiB-field"),  # name + value bytes
    pytest.param(b"a=" + b"x" * (1024 * 1024), 400, id="field-too-big"),
    pytest.param(b"a" * (1024 * 1024 + 1), 400, id="name-too-big"),  # a name counts too
    pytest.param(b"&".join(b"b=%d" % i for i in range(1000)) + b"&a=1", 400, id="1001-fields"),
    pytest.param(b"&".join(b"b=%d" % i for i in range(999)) + b"&a=1", 200, id="1000-fields"),
])
def test_urlencoded_limits(servers, path, body, status):
    st, _, out = same(servers, path, content=body, headers=UE)
    assert st == status, out[:200]


# ---- the engine's parser against Starlette's (python-multipart) ----

def _norm(items):
    from starlette.datastructures import UploadFile
    out = []
    for k, v in items:
        if isinstance(v, UploadFile):
            v.file.seek(0)
            v = ("FILE", v.filename, v.size, v.content_type, tuple(v.headers.raw), v.file.read())
        out.append((k, v))
    return out


def _starlette(body, ct, lim):
    from starlette.datastructures import Headers
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream():
        yield body

    async def go():
        try:
            return _norm((await MultiPartParser(Headers({"content-type": ct}), stream(), **lim).parse())
                         .multi_items())
        except MultiPartException as e:
            return "ERR " + e.message
    return asyncio.run(go())


def _engine(body, ct, lim):
    from fastrapi._runtime import parse_multipart
    from fastrapi.exceptions import HTTPException
    try:
        return _norm(parse_multipart(body, ct, **lim))
    except HTTPException as e:
        return "ERR " + e.detail


ATOMS = [b"--XyZ", b"\r\n", b"--", b"-", b"\r", b"\n", b" ", b"\t", b"Content-Disposition: form-data; ",
         b'name="a"', b"name=b", b'filename="f.txt"', b"filename=", b"; ", b";", b":", b"Content-Type: t/x",
         b"X-H: v", b"\r\n--XyZ", b"\r\n--XyZ--", b"\r\n--XyZ\r\n", b"data", b"\xff\xe9", b'"', b"\\", b"=",
         b"*", b"filename*=utf-8''x", b"C:\\\\d\\\\f", b"NAME=x", b"\x00"]


def _gen(r):
    parts = []
    for _ in range(r.randint(0, 4)):
        hdr = [b"Content-Disposition: form-data; name=" + r.choice([b'"a"', b"b", b'"c d"', b'"\\"q\\""'])
               + r.choice([b"", b'; filename="f.txt"', b"; filename=", b'; filename="C:\\\\x\\\\y.z"'])]
        if r.random() < 0.4:
            hdr.append(b"Content-Type: " + r.choice([b"text/plain", b"application/octet-stream"]))
        if r.random() < 0.2:
            hdr.append(b"X-Extra:  v ")
        data = bytes(r.choice(b"ab\r\n-XyZ\xff ") for _ in range(r.randint(0, 30)))
        parts.append(b"--XyZ\r\n" + b"\r\n".join(hdr) + b"\r\n\r\n" + data + b"\r\n")
    body = b"".join(parts) + b"--XyZ--" + r.choice([b"", b"\r\n", b"epi"])
    if r.random() < 0.7:
        b = bytearray(body)
        for _ in range(r.randint(1, 4)):
            op, pos = r.random(), r.randint(0, len(b))
            if op < 0.3 and b:
                del b[r.randint(0, len(b) - 1)]
            elif op < 0.6:
                b[pos:pos] = r.choice(ATOMS)
            elif op < 0.8 and b:
                b[r.randint(0, len(b) - 1)] = r.randint(0, 255)
            else:
                b = b[:pos]
        body = bytes(b)
    return body


def test_engine_parser_equals_starlettes_on_generated_bodies():
    import logging
    r = random.Random(20260611)
    cts = ["multipart/form-data; boundary=XyZ", "multipart/form-data; boundary=XyZ; charset=latin-1",
           'multipart/form-data; boundary="XyZ"', "multipart/form-data; charset=bogus; boundary=XyZ"]
    lims = [{}, {"max_fields": 1}, {"max_files": 1}, {"max_part_size": 5}, {"max_fields": 0, "max_files": 0}]
    logging.disable(logging.WARNING)  # python-multipart logs every parse error
    try:
        diffs, outcomes = [], set()
        for _ in range(3000):
            body, ct, lim = _gen(r), r.choice(cts), r.choice(lims)
            a, b = _starlette(body, ct, lim), _engine(body, ct, lim)
            outcomes.add(a if isinstance(a, str) else "ok")
            if a != b:
                diffs.append((body, ct, lim, a, b))
    finally:
        logging.disable(logging.NOTSET)
    assert not diffs, diffs[:3]
    assert len(outcomes) >= 6, outcomes  # the generator reaches the error paths


def test_engine_parser_rejects_bad_arguments():
    from fastrapi import _fastrapi
    with pytest.raises(TypeError):
        _fastrapi.multipart("not bytes", "multipart/form-data; boundary=b", 1, 1, 1)
    assert _fastrapi.multipart(b"", None, 1, 1, 1) is None
    assert _fastrapi.multipart(b"x", b"multipart/form-data", 1, 1, 1) == "Missing boundary in multipart."


# ---- the ASGI face answers the same ----

def test_asgi_face_same_as_fastapi():
    ns = {}
    exec(APP_SOURCE, ns)  # noqa: S102
    requests = [("/file", {"files": {"up": ("a.txt", b"abc", "text/plain")}}),
                ("/bytes", {"files": {"data": ("d", b"\x00" * 5000)}}),
                ("/form", {"content": b"garbage", "headers": CT}),
                ("/form", {"content": mp([(cd(b"a"), b"v")]), "headers": {"content-type": "multipart/form-data"}}),
                ("/request-form", {"data": {"k": ["1", "2"]}, "files": {"f": ("f", b"1")}})]

    async def drive(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return [(r.status_code, r.content) for r in [await c.post(p, **kw) for p, kw in requests]]

    a = asyncio.run(drive(ns["make_app"](framework("fastapi"))))
    b = asyncio.run(drive(ns["make_app"](framework("fastrapi"))))
    assert b == a
    assert [s for s, _ in a] == [200, 200, 400, 400, 200]
