"""HTTPS on the native server (FR_ENABLE_OPENSSL in the extension):
app.serve(ssl_certfile=, ssl_keyfile=) and `fastrapi run --ssl-certfile
--ssl-keyfile`, driven by curl, httpx, Python's ssl module and the
`websockets` client: handshake + ALPN http/1.1, keep-alive, large, file
and streamed bodies, request.url.scheme, a WebSocket over TLS, plain HTTP on
the TLS port, garbage handshakes, certificate reload on SIGHUP, bad files.
Certificates are made with the openssl CLI. Servers bind 127.0.0.1."""
import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from helpers import ROOT, free_port, raw_request, wait_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("curl") is None,
                                reason="needs the openssl and curl commands (run-tests installs them)")

APP = '''
import os
from fastrapi import FastAPI, Request, WebSocket
from fastrapi.responses import FileResponse, StreamingResponse

app = FastAPI()
BIG = bytes(range(256)) * (2 * 1024 * 1024 // 256)

@app.get("/")
def root(request: Request):
    return {"scheme": request.url.scheme, "client": request.client.host}

@app.post("/echo")
async def echo(request: Request):
    return {"n": len(await request.body())}

@app.get("/big")
def big():
    from fastrapi import Response
    return Response(BIG, media_type="application/octet-stream")

@app.get("/file")
def file():
    return FileResponse(os.environ["TLS_FILE"])

@app.get("/stream")
def stream():
    return StreamingResponse((b"x" * 10000 for _ in range(50)), media_type="text/plain")

@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(websocket.url.scheme + ":" + text)
'''


def _openssl_cert(d, name):
    crt, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return crt, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tls"))
    a = _openssl_cert(d, "a")
    b = _openssl_cert(d, "b")
    data = os.path.join(d, "file.bin")
    with open(data, "wb") as f:
        f.write(bytes((i * 7) % 251 for i in range(1 << 20)))
    return {"dir": d, "a": a, "b": b, "file": data}


def _env(certs):
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    e["TLS_FILE"] = certs["file"]
    return e


class Server:
    def __init__(self, args, cwd, env, port):
        self.log = open(os.path.join(cwd, "server.log"), "w+")
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.port = port
        try:
            wait_port(port, proc=self.proc)
        except Exception:
            text = self.text()
            self.stop()
            raise RuntimeError("server failed:\n" + text)

    def text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def _copy_pair(src, dst_dir):
    crt, key = os.path.join(dst_dir, "cert.pem"), os.path.join(dst_dir, "key.pem")
    for s, d in ((src[0], crt), (src[1], key)):
        shutil.copyfile(s, d + ".tmp")
        os.replace(d + ".tmp", d)
    return crt, key


@pytest.fixture
def served(tmp_path, certs):
    """app.serve(ssl_certfile=, ssl_keyfile=) in a subprocess (a copy of cert a)."""
    (tmp_path / "main.py").write_text(APP)
    crt, key = _copy_pair(certs["a"], str(tmp_path))
    port = free_port()
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(tmp_path)!r})
        from main import app
        app.serve(port={port}, ssl_certfile={crt!r}, ssl_keyfile={key!r}, access_log=False)
    """)
    srv = Server([sys.executable, "-c", code], str(tmp_path), _env(certs), port)
    srv.cert, srv.key, srv.dir = crt, key, str(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture
def cli_served(tmp_path, certs):
    """`fastrapi run main.py --ssl-certfile --ssl-keyfile`."""
    (tmp_path / "main.py").write_text(APP)
    port = free_port()
    args = [sys.executable, "-m", "fastrapi", "run", "main.py", "--host", "127.0.0.1", "--port",
            str(port), "--ssl-certfile", certs["a"][0], "--ssl-keyfile", certs["a"][1]]
    srv = Server(args, str(tmp_path), _env(certs), port)
    yield srv
    srv.stop()


def _ctx(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def _peer_cn(port, cafile):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with _ctx(cafile).wrap_socket(raw, server_hostname="localhost") as s:
            subject = dict(x[0] for x in s.getpeercert()["subject"])
            return subject["commonName"], s.selected_alpn_protocol()


def test_serve_https_httpx(served, certs):
    cn, alpn = _peer_cn(served.port, certs["a"][0])
    assert (cn, alpn) == ("a", "http/1.1")
    with httpx.Client(base_url=f"https://localhost:{served.port}", verify=ssl.create_default_context(cafile=certs["a"][0]),
                      timeout=30) as c:
        r = c.get("/")
        assert r.status_code == 200
        assert r.json() == {"scheme": "https", "client": "127.0.0.1"}
        for _ in range(3):  # keep-alive on the same connection
            assert c.post("/echo", content=b"z" * 300000).json() == {"n": 300000}
        r = c.get("/big")
        assert r.status_code == 200 and r.content == bytes(range(256)) * (2 * 1024 * 1024 // 256)
        r = c.get("/file")  # FileResponse: read + SSL_write instead of sendfile
        assert r.status_code == 200
        with open(certs["file"], "rb") as f:
            assert r.content == f.read()
        r = c.get("/stream")
        assert r.status_code == 200 and r.content == b"x" * 500000


def test_cli_ssl_options_curl(cli_served, certs):
    url = f"https://localhost:{cli_served.port}/"
    r = subprocess.run(["curl", "-sS", "-v", "--http2", "--cacert", certs["a"][0],
                        "-w", "\\n%{http_version}", url, url],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    body = r.stdout.split("\n")
    assert body[0].startswith('{"scheme":"https"') and body[-1] == "1.1"
    assert "http/1.1" in r.stderr and "ALPN" in r.stderr  # h2 offered, http/1.1 chosen
    assert "Re-using existing connection" in r.stderr  # keep-alive over TLS
    assert "https://127.0.0.1:%d" % cli_served.port in cli_served.text()
    # curl without the CA refuses the self-signed certificate
    r = subprocess.run(["curl", "-sS", url], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0


def test_plain_http_on_tls_port(served, certs):
    out = raw_request(served.port, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in out
    r = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{served.port}/"],
                       capture_output=True, text=True, timeout=60)
    assert '"Bad Request"' in r.stdout
    # still serving TLS
    assert httpx.get(f"https://localhost:{served.port}/", verify=ssl.create_default_context(cafile=certs["a"][0])).status_code == 200


def test_bad_handshakes_are_closed(served, certs):
    for junk in (b"\x16\x03\x01\x00\x10garbage-garbage!\x16\x03\x01\x00\x05xxxxx",
                 bytes(range(1, 64))):
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as s:
            s.sendall(junk)
            got = b""
            try:
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    got += b
            except ConnectionResetError:
                pass
            assert not got.startswith(b"HTTP/")  # no plain answer to a TLS-looking client
    # a client that distrusts the certificate aborts; the server goes on
    with pytest.raises(ssl.SSLError):
        _peer_cn(served.port, certs["b"][0])
    assert httpx.get(f"https://localhost:{served.port}/", verify=ssl.create_default_context(cafile=certs["a"][0])).status_code == 200


def test_sighup_reloads_certificate(served, certs):
    assert _peer_cn(served.port, certs["a"][0])[0] == "a"
    old = httpx.Client(base_url=f"https://localhost:{served.port}", verify=ssl.create_default_context(cafile=certs["a"][0]))
    assert old.get("/").status_code == 200
    _copy_pair(certs["b"], served.dir)
    served.proc.send_signal(signal.SIGHUP)
    cn = None
    for _ in range(200):  # bounded: the reload runs on a thread of the server
        try:
            cn = _peer_cn(served.port, certs["b"][0])[0]
            break
        except ssl.SSLError:  # still the old certificate
            time.sleep(0.05)
    assert cn == "b"
    assert old.get("/").status_code == 200  # open connections keep theirs
    old.close()
    # a broken file: the reload fails, the server keeps certificate b and says why
    with open(served.cert, "w") as f:
        f.write("broken\n")
    served.proc.send_signal(signal.SIGHUP)
    for _ in range(200):
        if "reload failed" in served.text():
            break
        time.sleep(0.05)
    assert "reload failed" in served.text()
    assert _peer_cn(served.port, certs["b"][0])[0] == "b"
    assert served.proc.poll() is None


def test_websocket_over_tls(served, certs):
    from websockets.asyncio.client import connect

    async def go():
        async with connect(f"wss://localhost:{served.port}/ws",
                           ssl=ssl.create_default_context(cafile=certs["a"][0])) as ws:
            out = []
            for t in ("hello", "x" * 100000):
                await ws.send(t)
                out.append(await asyncio.wait_for(ws.recv(), 30))
            return out

    out = asyncio.run(go())
    assert out[0] == "wss:hello"
    assert out[1] == "wss:" + "x" * 100000


def test_serve_bad_ssl_arguments(tmp_path, certs):
    from fastrapi import FastAPI
    app = FastAPI()
    with pytest.raises(OSError, match="nope.pem"):
        app.serve(port=0, ssl_certfile=str(tmp_path / "nope.pem"), ssl_keyfile=certs["a"][1])
    with pytest.raises(OSError, match="does not match"):
        app.serve(port=0, ssl_certfile=certs["a"][0], ssl_keyfile=certs["b"][1])
    with pytest.raises(ValueError, match="ssl_keyfile needs ssl_certfile"):
        app.serve(port=0, ssl_keyfile=certs["a"][1])


def test_certfile_holding_the_key(tmp_path, certs):
    both = tmp_path / "both.pem"
    with open(certs["a"][0], "rb") as c, open(certs["a"][1], "rb") as k:
        both.write_bytes(c.read() + k.read())
    (tmp_path / "main.py").write_text(APP)
    port = free_port()
    args = [sys.executable, "-m", "fastrapi", "run", "main.py", "--host", "127.0.0.1", "--port",
            str(port), "--ssl-certfile", str(both)]
    srv = Server(args, str(tmp_path), _env(certs), port)
    try:
        assert _peer_cn(port, certs["a"][0])[0] == "a"
    finally:
        srv.stop()
    r = subprocess.run([sys.executable, "-m", "fastrapi", "run", "main.py", "--port", str(port),
                        "--ssl-keyfile", certs["a"][1]], cwd=str(tmp_path), env=_env(certs),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "--ssl-keyfile needs --ssl-certfile" in r.stderr + r.stdout


def test_cli_workers_tls(tmp_path, certs):
    """--workers 2: each worker serves TLS on the shared socket (fr_listen_fd_tls)."""
    (tmp_path / "main.py").write_text(APP)
    port = free_port()
    args = [sys.executable, "-m", "fastrapi", "run", "main.py", "--host", "127.0.0.1", "--port",
            str(port), "--workers", "2", "--ssl-certfile", certs["a"][0], "--ssl-keyfile",
            certs["a"][1]]
    srv = Server(args, str(tmp_path), _env(certs), port)
    try:
        ctx = ssl.create_default_context(cafile=certs["a"][0])
        for _ in range(4):
            r = httpx.get(f"https://localhost:{port}/", verify=ctx, timeout=30)
            assert r.json()["scheme"] == "https"
    finally:
        srv.stop()


# ---- uvicorn's other --ssl-* options: an encrypted key, client certificates, ciphers ----

@pytest.fixture(scope="module")
def pki(certs):
    """A CA, a client certificate it signed (CN=client), a's key encrypted
    with the passphrase "s3cret"."""
    d = certs["dir"]
    run = lambda *a: subprocess.run(list(a), cwd=d, check=True, capture_output=True, timeout=60)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=ca")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=client")
    run("openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "client.crt")
    run("openssl", "pkey", "-in", certs["a"][1], "-aes256", "-passout", "pass:s3cret", "-out", "a.enc.key")
    j = lambda n: os.path.join(d, n)  # noqa: E731
    return {"ca": j("ca.crt"), "client": (j("client.crt"), j("client.key")), "enc_key": j("a.enc.key")}


def _client_get(port, cafile, cert=None, max_tls12=False):
    """GET / over TLS presenting `cert` (or none): (status, cipher), or
    (None, error class name) when the server refused the handshake."""
    ctx = ssl.create_default_context(cafile=cafile)
    if cert:
        ctx.load_cert_chain(*cert)
    if max_tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(65536)  # TLS 1.3: a refused certificate shows here
                    if not chunk:
                        break
                    data += chunk
                return int(data.split(b" ", 2)[1]), s.cipher()[0]
    except (ssl.SSLError, ConnectionError, OSError, IndexError) as e:
        return None, type(e).__name__


def _run_args(fw, port, certs, pki, extra=()):
    common = ["--ssl-certfile", certs["a"][0], "--ssl-keyfile", pki["enc_key"],
              "--ssl-keyfile-password", "s3cret", "--ssl-ca-certs", pki["ca"], *extra]
    if fw == "fastrapi":
        return [sys.executable, "-m", "fastrapi", "run", "main.py", "--host", "127.0.0.1",
                "--port", str(port), *common]
    return [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", *common]


@pytest.mark.parametrize("fw", ["fastapi", "fastrapi"])
def test_cli_client_certificates_and_encrypted_key(tmp_path, certs, pki, fw):
    """--ssl-keyfile-password, --ssl-ca-certs and --ssl-cert-reqs 2 / 1: the
    same clients are let in or refused by fastrapi and by FastAPI on uvicorn."""
    (tmp_path / "main.py").write_text(APP.replace("from fastrapi", f"from {fw}"))
    seen = {}
    for reqs in ("2", "1"):
        port = free_port()
        srv = Server(_run_args(fw, port, certs, pki, ["--ssl-cert-reqs", reqs]), str(tmp_path),
                     _env(certs), port)
        try:
            seen[reqs] = (_client_get(port, certs["a"][0], pki["client"])[0],
                          _client_get(port, certs["a"][0])[0],
                          _client_get(port, certs["a"][0], certs["b"])[0],  # another CA's
                          _client_get(port, certs["a"][0], max_tls12=True)[0],
                          _client_get(port, certs["a"][0], pki["client"], max_tls12=True)[0])
        finally:
            srv.stop()
    assert seen == {"2": (200, None, None, None, 200), "1": (200, 200, None, 200, 200)}, (fw, seen)


def test_workers_with_client_certificates(tmp_path, certs, pki):
    """--workers 2: each worker's listener (fr_listen_fd_tls_ex) asks for them too."""
    (tmp_path / "main.py").write_text(APP)
    port = free_port()
    srv = Server(_run_args("fastrapi", port, certs, pki, ["--ssl-cert-reqs", "2", "--workers", "2"]),
                 str(tmp_path), _env(certs), port)
    try:
        for _ in range(4):
            assert _client_get(port, certs["a"][0], pki["client"])[0] == 200
            assert _client_get(port, certs["a"][0])[0] is None
    finally:
        srv.stop()


def test_ssl_ciphers(tmp_path, certs, pki):
    (tmp_path / "main.py").write_text(APP)
    port = free_port()
    args = [sys.executable, "-m", "fastrapi", "run", "main.py", "--host", "127.0.0.1", "--port",
            str(port), "--ssl-certfile", certs["a"][0], "--ssl-keyfile", certs["a"][1],
            "--ssl-ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305"]
    srv = Server(args, str(tmp_path), _env(certs), port)
    try:
        assert _client_get(port, certs["a"][0], max_tls12=True) == (200, "ECDHE-ECDSA-CHACHA20-POLY1305")
        assert _client_get(port, certs["a"][0])[0] == 200  # TLS 1.3: OpenSSL's suites
    finally:
        srv.stop()


def _negotiated(port, cafile, lowest=None, highest=None):
    """The TLS version a client offering lowest..highest got ("TLSv1.3"),
    or None when the handshake failed."""
    ctx = ssl.create_default_context(cafile=cafile)
    if lowest:
        ctx.minimum_version = lowest
    if highest:
        ctx.maximum_version = highest
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
                status = s.recv(65536).split(b" ", 2)[1]
                return s.version() if status == b"200" else status
    except (ssl.SSLError, ConnectionError, OSError, IndexError):
        return None


@pytest.mark.parametrize("fw", ["fastapi", "fastrapi"])
def test_cli_ssl_version(tmp_path, certs, pki, fw):
    """--ssl-version as uvicorn's: 17 (default) and 2 take TLS 1.2 and 1.3,
    5 TLS 1.2 only, 4 TLS 1.1 only (which OpenSSL's security level refuses
    here: no client gets in), 16 (a client's protocol) does not start."""
    (tmp_path / "main.py").write_text(APP.replace("from fastrapi", f"from {fw}"))
    V = ssl.TLSVersion
    seen = {}
    for version in ("17", "2", "5", "4"):
        port = free_port()
        srv = Server(_run_args(fw, port, certs, pki, ["--ssl-version", version]), str(tmp_path),
                     _env(certs), port)
        try:
            seen[version] = (_negotiated(port, certs["a"][0]),
                             _negotiated(port, certs["a"][0], highest=V.TLSv1_2),
                             _negotiated(port, certs["a"][0], lowest=V.TLSv1_3),
                             _negotiated(port, certs["a"][0], lowest=V.TLSv1_1, highest=V.TLSv1_1))
        finally:
            srv.stop()
    both = ("TLSv1.3", "TLSv1.2", "TLSv1.3", None)
    assert seen == {"17": both, "2": both, "5": ("TLSv1.2", "TLSv1.2", None, None),
                    "4": (None, None, None, None)}, (fw, seen)
    r = subprocess.run(_run_args(fw, free_port(), certs, pki, ["--ssl-version", "16"]), cwd=str(tmp_path),
                       env=_env(certs), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode != 0, (fw, r.stderr)


def test_ssl_option_errors(tmp_path, certs, pki):
    from fastrapi import FastAPI
    app = FastAPI()
    a_crt = certs["a"][0]
    with pytest.raises(OSError, match="key_password"):  # encrypted, no passphrase: never a prompt
        app.serve(port=0, ssl_certfile=a_crt, ssl_keyfile=pki["enc_key"])
    with pytest.raises(OSError, match="wrong key_password"):
        app.serve(port=0, ssl_certfile=a_crt, ssl_keyfile=pki["enc_key"], ssl_keyfile_password="nope")
    with pytest.raises(OSError, match="no cipher matches"):
        app.serve(port=0, ssl_certfile=a_crt, ssl_keyfile=certs["a"][1], ssl_ciphers="NOPE-NO-SUCH")
    with pytest.raises(OSError, match="nope-ca.pem"):
        app.serve(port=0, ssl_certfile=a_crt, ssl_keyfile=certs["a"][1],
                  ssl_ca_certs=str(tmp_path / "nope-ca.pem"), ssl_cert_reqs=ssl.CERT_REQUIRED)
    with pytest.raises(ValueError, match="needs ssl_ca_certs"):
        app.serve(port=0, ssl_certfile=a_crt, ssl_keyfile=certs["a"][1], ssl_cert_reqs=ssl.CERT_REQUIRED)
    with pytest.raises(ValueError, match="CERT_NONE"):
        app.serve(port=0, ssl_certfile=a_crt, ssl_ca_certs=pki["ca"], ssl_cert_reqs=7)
    with pytest.raises(ValueError, match="need ssl_certfile"):
        app.serve(port=0, ssl_ciphers="HIGH")
    with pytest.raises(ValueError, match="need ssl_certfile"):
        app.serve(port=0, ssl_version=ssl.PROTOCOL_TLSv1_2)
    with pytest.raises(ValueError, match="PROTOCOL_TLS_CLIENT"):
        app.serve(port=0, ssl_certfile=a_crt, ssl_keyfile=certs["a"][1], ssl_version=16)
    with pytest.raises(ValueError, match="invalid or unsupported protocol version 99"):
        app.serve(port=0, ssl_certfile=a_crt, ssl_keyfile=certs["a"][1], ssl_version=99)
    (tmp_path / "main.py").write_text(APP)
    for extra, msg in ((["--ssl-ca-certs", pki["ca"]], "need --ssl-certfile"),
                       (["--ssl-certfile", a_crt, "--ssl-cert-reqs", "2"], "needs --ssl-ca-certs"),
                       (["--ssl-version", "5"], "need --ssl-certfile"),
                       (["--ssl-certfile", a_crt, "--ssl-version", "16"], "PROTOCOL_TLS_SERVER (17)")):
        r = subprocess.run([sys.executable, "-m", "fastrapi", "run", "main.py", "--port", str(free_port()),
                            *extra], cwd=str(tmp_path), env=_env(certs), capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 1 and msg in r.stderr + r.stdout, (extra, r.stderr)
