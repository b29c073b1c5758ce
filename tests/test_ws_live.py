"""RFC 6455 / 7692 conformance of the engine's WebSockets, live, against
examples/c/chat.c (built with FR_ENABLE_ZLIB), over raw sockets
(Autobahn-style: every byte on the wire is ours) and through the
`websockets` client library (interop: it validates our side of the wire).

  handshake   101 and the accept key, token lists, subprotocols, permessage-
              deflate negotiation, 426/400/405/404 answers and what they close
  framing     7/16/64-bit lengths (minimal only), sizes 0..200 KB, 1-byte
              writes, masking, RSV bits, reserved opcodes
  control     ping/pong (payloads up to 125), unsolicited pongs, fragmented
              or oversized control frames
  fragments   reassembly with interleaved pings, continuation rules
  UTF-8       valid texts, invalid ones (1007), failing fast inside a frame
              and across fragments before the message is complete
  closing     echoed codes, empty close, invalid codes and payloads (1002),
              invalid reasons (1007), server-initiated close, data after close
  limits      max message / frame (1009), deflate bombs, send-queue
              backpressure (EFULL, on_drain), keepalive ping timeout (1011)
  apps        the chat room and the game-state broadcaster in both modes
              (fr_poll game loop; fr_serve with ticks from another thread),
              fan-out to many clients, graceful stop (1001)
  browser     headless Chromium runs a page that talks to /echo (permessage-
              deflate negotiated by the browser, text, binary, 100 KB, the
              server's close code)

Each scenario runs against an -O2 build and an ASan+UBSan build (the
sanitized server must also exit 0 with no report). Every socket has a timeout
and every loop is bounded.
"""
import asyncio
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import struct
import time
import zlib

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from cbuild import BUILD, ROOT, SAN, WARN, ahead, compile_c, have
from test_c_examples import Server

IO_TIMEOUT = 10.0
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def _build(kind):
    src = os.path.join(ROOT, "examples", "c", "chat.c")
    deps = [os.path.join(ROOT, "fastrapi.h")]
    libs = ["-lpthread", "-lm", "-lz"]
    if kind == "asan":
        cc = "clang" if have("clang") else "gcc"
        return compile_c(os.path.join(BUILD, "examples-asan", "chat-zlib"), [src],
                         ["-O1", "-g"] + SAN + WARN + ["-DFR_ENABLE_ZLIB=1", "-I", ROOT],
                         deps=deps, cc=cc, libs=libs)
    return compile_c(os.path.join(BUILD, "examples", "chat-zlib"), [src],
                     ["-O2"] + WARN + ["-DFR_ENABLE_ZLIB=1", "-I", ROOT], deps=deps, libs=libs)


ahead(lambda: _build("O2"))
ahead(lambda: _build("asan"))


@pytest.fixture(scope="module", params=["O2", "asan"])
def exe(request):
    return _build(request.param)


def _served(server):
    yield server
    assert server.alive(), "server died:\n" + server.output()
    rc = server.stop()
    out = server.output()
    assert rc == 0, "exit status %s:\n%s" % (rc, out)
    assert "Sanitizer" not in out and "runtime error" not in out, out


@pytest.fixture(scope="module")
def chat(exe):
    yield from _served(Server(exe, {"FR_WS_MAX_MESSAGE": "300000", "FR_WS_MAX_QUEUE": "65536"}))


@pytest.fixture(scope="module")
def small(exe):
    """Small limits: 64 KiB messages, 32 KiB frames."""
    yield from _served(Server(exe, {"FR_WS_MAX_MESSAGE": "65536", "FR_WS_MAX_FRAME": "32768"}))


@pytest.fixture(scope="module")
def pinging(exe):
    yield from _served(Server(exe, {"FR_WS_PING_MS": "300", "FR_WS_CLOSE_MS": "300"}))


@pytest.fixture(scope="module", params=["poll", "serve"])
def rooms(exe, request):
    yield from _served(Server(exe, {"CHAT_MODE": request.param, "CHAT_TICK_MS": "20",
                                    "FR_THREADS": "2"}))


# --------------------------------------------------------------------------
# a raw RFC 6455 client

def frame(op, payload=b"", fin=True, rsv=0, mask=b"\x37\xfa\x21\x3d", length=None):
    """One frame exactly as given (length: force an encoding: 7, 16 or 64)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    mbit = 0x80 if mask else 0
    enc = length or (7 if n < 126 else 16 if n < 65536 else 64)
    if enc == 7:
        head = bytes([b0, mbit | n])
    elif enc == 16:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        head += mask
    return head + payload


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


class WS:
    """Raw client: handshake, then frames in and out."""

    def __init__(self, port, path="/echo", headers=(), glued=b"", rcvbuf=None, handshake=True):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(IO_TIMEOUT)
        self.s.connect(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.status = None
        self.headers = {}
        if handshake:
            self.handshake(path, headers, glued)

    def handshake(self, path="/echo", headers=(), glued=b"", request=None):
        if request is None:
            hs = [("Host", "127.0.0.1"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                  ("Sec-WebSocket-Key", KEY), ("Sec-WebSocket-Version", "13")]
            names = {h[0].lower() for h in headers}
            hs = [h for h in hs if h[0].lower() not in names] + [h for h in headers if h[1] is not None]
            request = ("GET %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % h for h in hs) + "\r\n").encode()
        self.s.sendall(request + glued)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        del self.buf[:end + 4]
        self.status = int(head[0].split(" ")[1])
        self.status_line = head[0]
        self.headers = {}
        for ln in head[1:]:
            k, _, v = ln.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        if self.status != 101 and "content-length" in self.headers:
            self.body = self._take(int(self.headers["content-length"]))
        return self.status

    def _fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError
        self.buf += d

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def send(self, data):
        self.s.sendall(data)

    def send_frame(self, *a, **kw):
        self.send(frame(*a, **kw))

    def recv_frame(self):
        """(fin, rsv, opcode, payload) of the next frame; server frames must be unmasked."""
        b0, b1 = self._take(2)
        assert not b1 & 0x80, "server frame is masked"
        n = b1 & 127
        if n == 126:
            n = struct.unpack(">H", self._take(2))[0]
            assert n >= 126, "non-minimal 16-bit length"
        elif n == 127:
            n = struct.unpack(">Q", self._take(8))[0]
            assert n >= 65536, "non-minimal 64-bit length"
        return bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 15, self._take(n)

    def recv_message(self):
        """Next data message (op, bytes), answering nothing; control frames returned as such."""
        fin, rsv, op, data = self.recv_frame()
        assert rsv == 0
        if op >= 8:
            return op, data
        parts = [data]
        while not fin:
            fin, rsv, cop, data = self.recv_frame()
            assert cop == 0
            parts.append(data)
        return op, b"".join(parts)

    def expect_close(self, code=None):
        """The next frame is a close (with `code`); the server then closes TCP."""
        op, data = self.recv_message()
        assert op == 8, (op, data[:100])
        got = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else None
        if code is not None:
            assert got == code, (got, data)
        if len(data) >= 2:
            data[2:].decode("utf-8")  # the reason is valid UTF-8
        assert self.eof(), "server kept the TCP connection open after the close"
        return got, data[2:]

    def eof(self):
        try:
            for _ in range(1000):
                d = self.s.recv(65536)
                if not d:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        self.s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------
# handshake

def test_handshake_101(chat):
    with WS(chat.port) as ws:
        assert ws.status == 101
        assert ws.status_line == "HTTP/1.1 101 Switching Protocols"
        assert ws.headers["sec-websocket-accept"] == ACCEPT
        assert ws.headers["upgrade"].lower() == "websocket"
        assert "upgrade" in ws.headers["connection"].lower()
        assert "sec-websocket-extensions" not in ws.headers
        assert "sec-websocket-protocol" not in ws.headers
        assert "content-length" not in ws.headers and "transfer-encoding" not in ws.headers


def test_accept_key_matches_rfc(chat):
    key = base64.b64encode(os.urandom(16)).decode()
    with WS(chat.port, headers=[("Sec-WebSocket-Key", key)]) as ws:
        want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                             .encode()).digest()).decode()
        assert ws.headers["sec-websocket-accept"] == want


def test_token_lists_any_case(chat):
    hs = [("Upgrade", "h2c, WebSocket"), ("Connection", "keep-alive, UPGRADE")]
    with WS(chat.port, headers=hs) as ws:
        assert ws.status == 101
        ws.send_frame(1, "ok")
        assert ws.recv_message() == (1, b"ok")


def test_subprotocol(chat):
    with WS(chat.port, headers=[("Sec-WebSocket-Protocol", "chat, echo.v1")]) as ws:
        assert ws.headers["sec-websocket-protocol"] == "echo.v1"
    with WS(chat.port, headers=[("Sec-WebSocket-Protocol", "chat")]) as ws:
        assert ws.status == 101 and "sec-websocket-protocol" not in ws.headers


def test_deflate_negotiation(chat):
    with WS(chat.port, headers=[("Sec-WebSocket-Extensions",
                                 "permessage-deflate; client_max_window_bits; server_max_window_bits=10")]) as ws:
        assert ws.headers["sec-websocket-extensions"] == "permessage-deflate; server_max_window_bits=10"
    with WS(chat.port, headers=[("Sec-WebSocket-Extensions", "x-foo, permessage-deflate; bogus")]) as ws:
        assert "sec-websocket-extensions" not in ws.headers  # no acceptable offer: none
    with WS(chat.port, headers=[("Sec-WebSocket-Extensions",
                                 "permessage-deflate; server_max_window_bits=8, "
                                 "permessage-deflate; server_no_context_takeover")]) as ws:
        assert ws.headers["sec-websocket-extensions"] == "permessage-deflate; server_no_context_takeover"


@pytest.mark.parametrize("headers,status", [
    ([("Upgrade", None)], 426),
    ([("Upgrade", "websockets")], 426),
    ([("Connection", "keep-alive")], 426),
    ([("Sec-WebSocket-Version", "8")], 426),
    ([("Sec-WebSocket-Version", None)], 426),
    ([("Sec-WebSocket-Key", None)], 400),
    ([("Sec-WebSocket-Key", "c2hvcnQ=")], 400),
    ([("Sec-WebSocket-Key", "not base64 at all!!!!!!!")], 400),
])
def test_bad_handshakes(chat, headers, status):
    with WS(chat.port, handshake=False) as ws:
        assert ws.handshake(headers=headers) == status
        assert ws.headers["content-type"] == "application/json"
        assert ws.body.startswith(b'{"detail":')
        if status == 426:
            assert ws.headers["sec-websocket-version"] == "13"
            assert ws.headers["upgrade"] == "websocket"
        assert ws.headers.get("connection") == "close"
        assert ws.eof()


def test_handshake_http10_and_methods(chat):
    with WS(chat.port, handshake=False) as ws:
        req = ("GET /echo HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % KEY).encode()
        assert ws.handshake(request=req) == 400
    with WS(chat.port, handshake=False) as ws:
        req = ("POST /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n" % KEY).encode()
        assert ws.handshake(request=req) == 405
    with WS(chat.port, handshake=False) as ws:
        assert ws.handshake(path="/nope", headers=[("Connection", "Upgrade, close")]) == 404
    with WS(chat.port, handshake=False) as ws:  # the app refuses before upgrading
        assert ws.handshake(path="/chat") == 400
        assert ws.body == b'{"detail":"name required"}'


# --------------------------------------------------------------------------
# framing

@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200000])
def test_echo_sizes(chat, size):
    payload = bytes(i * 31 % 251 for i in range(size))
    with WS(chat.port) as ws:
        ws.send_frame(2, payload)
        assert ws.recv_message() == (2, payload)
        text = ("é" * (size // 2 + 1))[:max(size // 2, 0)]
        ws.send_frame(1, text)
        assert ws.recv_message() == (1, text.encode())


def test_byte_by_byte(chat):
    with WS(chat.port) as ws:
        data = frame(1, "slow client κόσμε") + frame(9, b"p") + frame(2, b"\x00" * 300)
        for i in range(len(data)):
            ws.send(data[i:i + 1])
        assert ws.recv_message() == (1, "slow client κόσμε".encode())
        assert ws.recv_message() == (10, b"p")
        assert ws.recv_message() == (2, b"\x00" * 300)


def test_many_frames_in_one_write(chat):
    with WS(chat.port) as ws:
        ws.send(b"".join(frame(1, "m%d" % i) for i in range(500)))
        for i in range(500):
            assert ws.recv_message() == (1, ("m%d" % i).encode())


def test_frames_glued_to_handshake(chat):
    with WS(chat.port, glued=frame(1, "early") + frame(2, b"bird")) as ws:
        assert ws.recv_message() == (1, b"early")
        assert ws.recv_message() == (2, b"bird")


@pytest.mark.parametrize("data,code", [
    (frame(1, "x", mask=None), 1002),                       # client frames must be masked
    (frame(1, "x", rsv=1), 1002),
    (frame(1, "x", rsv=2), 1002),
    (frame(1, "x", rsv=4), 1002),                           # RSV1 without permessage-deflate
    (frame(1, "x", rsv=7), 1002),
    (frame(9, "x", rsv=2), 1002),
    (frame(3, "x"), 1002), (frame(4), 1002), (frame(5, "x"), 1002), (frame(6), 1002), (frame(7, "x"), 1002),
    (frame(11, "x"), 1002), (frame(12), 1002), (frame(13, "x"), 1002), (frame(14), 1002), (frame(15, "x"), 1002),
    (frame(1, "x" * 10, length=16), 1002),                  # non-minimal lengths
    (frame(1, "x" * 200, length=64), 1002),
    (bytes([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1]) + b"\0" * 4, 1002),  # 64-bit MSB set
])
def test_framing_errors(chat, data, code):
    with WS(chat.port) as ws:
        ws.send(data)
        ws.expect_close(code)


def test_protocol_error_after_good_messages(chat):
    with WS(chat.port) as ws:
        ws.send(frame(1, "a") + frame(2, b"b") + frame(1, "c", rsv=2) + frame(1, "never"))
        assert ws.recv_message() == (1, b"a")
        assert ws.recv_message() == (2, b"b")
        ws.expect_close(1002)


# --------------------------------------------------------------------------
# control frames

@pytest.mark.parametrize("size", [0, 1, 125])
def test_ping_pong(chat, size):
    with WS(chat.port) as ws:
        ws.send_frame(9, b"\xfe" * size)
        assert ws.recv_message() == (10, b"\xfe" * size)


def test_ping_too_long_and_fragmented(chat):
    with WS(chat.port) as ws:
        ws.send_frame(9, b"x" * 126)
        ws.expect_close(1002)
    with WS(chat.port) as ws:
        ws.send_frame(9, b"x", fin=False)
        ws.expect_close(1002)
    with WS(chat.port) as ws:
        ws.send_frame(8, close_payload(1000), fin=False)
        ws.expect_close(1002)


def test_unsolicited_pong_ignored(chat):
    with WS(chat.port) as ws:
        ws.send(frame(10, b"unsolicited") + frame(10) + frame(1, "after"))
        assert ws.recv_message() == (1, b"after")


def test_ten_pings_answered_in_order(chat):
    with WS(chat.port) as ws:
        ws.send(b"".join(frame(9, "p%d" % i) for i in range(10)))
        for i in range(10):
            assert ws.recv_message() == (10, ("p%d" % i).encode())


# --------------------------------------------------------------------------
# fragmentation

def test_fragments_with_interleaved_control(chat):
    with WS(chat.port) as ws:
        ws.send(frame(1, "frag", fin=False) + frame(9, "ping1") + frame(0, "men", fin=False)
                + frame(10, "pong") + frame(9, "ping2") + frame(0, "ts", fin=True))
        assert ws.recv_message() == (10, b"ping1")
        assert ws.recv_message() == (10, b"ping2")
        assert ws.recv_message() == (1, b"fragments")


def test_fragments_one_byte_each(chat):
    text = "κόσμε-fragments".encode()
    with WS(chat.port) as ws:
        data = frame(1, text[:1], fin=False)
        for i in range(1, len(text) - 1):
            data += frame(0, text[i:i + 1], fin=False)
        data += frame(0, text[-1:], fin=True)
        ws.send(data)
        assert ws.recv_message() == (1, text)  # characters split across fragments
        ws.send(frame(2, b"", fin=False) + frame(0, b"", fin=False) + frame(0, b"", fin=True))
        assert ws.recv_message() == (2, b"")


@pytest.mark.parametrize("data", [
    frame(0, "cont without start"),
    frame(0, "x", fin=False),
    frame(1, "a", fin=False) + frame(1, "b"),
    frame(1, "a", fin=False) + frame(2, "b", fin=False),
])
def test_fragmentation_errors(chat, data):
    with WS(chat.port) as ws:
        ws.send(data)
        ws.expect_close(1002)


# --------------------------------------------------------------------------
# UTF-8 (Autobahn section 6)

VALID = ["", "Hello-µ@ßöäüàá-UTF-8!!", "κόσμε", "\U0001F600", "\u07ff\u0800\uffff\U00010000\U0010ffff",
         "\ud7ff\ue000\ufffd"]
INVALID = [b"\x80", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80",
           b"\xf8\x88\x80\x80\x80", b"\xfe", b"\xff", b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
           b"a\xc3", b"\xe2\x82"]


@pytest.mark.parametrize("text", VALID)
def test_utf8_valid(chat, text):
    with WS(chat.port) as ws:
        ws.send_frame(1, text)
        assert ws.recv_message() == (1, text.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("data", INVALID)
def test_utf8_invalid_1007(chat, data):
    with WS(chat.port) as ws:
        ws.send_frame(1, data)
        ws.expect_close(1007)
    with WS(chat.port) as ws:  # the same split into one-byte fragments
        parts = [frame(1 if i == 0 else 0, data[i:i + 1], fin=i == len(data) - 1) for i in range(len(data))]
        ws.send(b"".join(parts))
        ws.expect_close(1007)


def test_utf8_fail_fast_inside_a_frame(chat):
    """The invalid byte arrives, the rest of the frame never does: closed at once."""
    payload = b"valid start \xed\xa0\x80" + b"x" * 10000
    data = frame(1, payload)
    with WS(chat.port) as ws:
        ws.send(data[:8 + 16])  # head + the first 16 payload bytes only
        ws.expect_close(1007)


def test_utf8_fail_fast_across_fragments(chat):
    with WS(chat.port) as ws:
        ws.send(frame(1, b"\xce\xba\xe1", fin=False) + frame(0, b"\xbd\xb9\xed", fin=False))
        ws.send(frame(0, b"\xa0\x80", fin=False))  # the message never ends
        ws.expect_close(1007)


# --------------------------------------------------------------------------
# closing handshake

@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999])
def test_close_codes_echoed(chat, code):
    with WS(chat.port) as ws:
        ws.send_frame(8, close_payload(code, "reason κ".encode()))
        assert ws.expect_close(code)[0] == code


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
def test_close_codes_invalid(chat, code):
    with WS(chat.port) as ws:
        ws.send_frame(8, close_payload(code))
        ws.expect_close(1002)


def test_close_empty_and_bad_payloads(chat):
    with WS(chat.port) as ws:
        ws.send_frame(8, b"")
        assert ws.expect_close() == (None, b"")  # empty close answered with an empty close
    with WS(chat.port) as ws:
        ws.send_frame(8, b"\x03")
        ws.expect_close(1002)
    with WS(chat.port) as ws:
        ws.send_frame(8, close_payload(1000, b"\xff\xfe"))
        ws.expect_close(1007)
    with WS(chat.port) as ws:
        ws.send_frame(8, close_payload(1000, b"r" * 123))
        ws.expect_close(1000)


def test_nothing_read_after_close(chat):
    with WS(chat.port) as ws:
        ws.send(frame(8, close_payload(1000)) + frame(1, "ignored") + frame(9, "ignored"))
        ws.expect_close(1000)


def test_server_initiated_close(chat):
    with WS(chat.port) as ws:
        ws.send_frame(1, "close:4321")
        op, data = ws.recv_message()
        assert op == 8 and data == close_payload(4321, b"bye")
        ws.send_frame(1, "discarded after the server's close")
        ws.send_frame(8, close_payload(4321))
        assert ws.eof()


def test_tcp_close_without_close_frame(chat):
    for _ in range(20):
        ws = WS(chat.port)
        ws.send(frame(1, "abrupt", fin=False))
        ws.close()
    with WS(chat.port) as ws:  # still serving
        ws.send_frame(1, "fine")
        assert ws.recv_message() == (1, b"fine")


# --------------------------------------------------------------------------
# limits

def test_max_message_1009(small):
    with WS(small.port) as ws:
        ws.send_frame(2, b"x" * 32768)
        assert ws.recv_message() == (2, b"x" * 32768)
        ws.send(frame(2, b"x" * 32768, fin=False) + frame(0, b"x" * 32768, fin=False) + frame(0, b"y", fin=True))
        ws.expect_close(1009)


def test_max_frame_1009_at_the_head(small):
    with WS(small.port) as ws:
        ws.send(frame(2, b"x" * 40000)[:14])  # the head alone says too big
        ws.expect_close(1009)


def test_send_queue_backpressure(chat):
    """flood:N queues N messages from one callback: beyond FR_WS_MAX_QUEUE
    (64 KiB) the sends fail with EFULL instead of buffering; the client gets
    exactly the ones that were queued, in order, then on_drain's word."""
    with WS(chat.port, rcvbuf=8192) as ws:
        ws.send_frame(1, "flood:200000")
        got = []
        while True:
            op, data = ws.recv_message()
            assert op == 1
            if data.startswith(b"flood:done") or data == b"drained":
                break
            got.append(int(data))
        assert got == list(range(len(got)))
        assert 1000 < len(got) < 200000
        if data.startswith(b"flood:done"):
            sent, full = [int(x.split(b"=")[1]) for x in data.split()[1:]]
            assert sent == len(got) and full == 200000 - sent
        ws.send_frame(1, "after")
        op, data = ws.recv_message()
        if data == b"drained":
            op, data = ws.recv_message()
        assert (op, data) == (1, b"after")


def test_keepalive_ping_then_1011(pinging):
    with WS(pinging.port) as ws:
        op, data = ws.recv_message()
        assert op == 9  # pinged after 300 ms of silence
        ws.expect_close(1011)  # no answer within another interval


def test_keepalive_answered_stays_open(pinging):
    with WS(pinging.port) as ws:
        for _ in range(3):
            op, data = ws.recv_message()
            assert op == 9
            ws.send_frame(10, data)
        ws.send_frame(1, "alive")
        assert ws.recv_message() == (1, b"alive")


def test_close_timeout_drops_tcp(pinging):
    with WS(pinging.port) as ws:
        ws.send_frame(1, "close:1000")
        op, data = ws.recv_message()
        assert op == 8
        t0 = time.monotonic()
        assert ws.eof()  # we never answer: dropped after FR_WS_CLOSE_MS
        assert time.monotonic() - t0 < IO_TIMEOUT


# --------------------------------------------------------------------------
# permessage-deflate on the raw wire

def test_deflate_raw_wire(chat):
    ext = "permessage-deflate; client_max_window_bits"
    with WS(chat.port, headers=[("Sec-WebSocket-Extensions", ext)]) as ws:
        assert ws.headers["sec-websocket-extensions"] == "permessage-deflate"
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        decomp = zlib.decompressobj(-15)
        for msg in [b"hello " * 100, b"", b"hello " * 100, "κόσμε".encode() * 50]:
            data = comp.compress(msg) + comp.flush(zlib.Z_SYNC_FLUSH)
            assert data.endswith(b"\x00\x00\xff\xff")
            ws.send_frame(1, data[:-4], rsv=4)
            fin, rsv, op, payload = ws.recv_frame()
            assert fin and op == 1
            if rsv == 4:
                out = decomp.decompress(payload + b"\x00\x00\xff\xff")
            else:
                out = payload
            assert out == msg
        # a compressed message split over fragments: RSV1 on the first only
        data = comp.compress(b"fragmented " * 50) + comp.flush(zlib.Z_SYNC_FLUSH)
        ws.send(frame(2, data[:10], fin=False, rsv=4) + frame(0, data[10:-4]))
        fin, rsv, op, payload = ws.recv_frame()
        assert decomp.decompress(payload + b"\x00\x00\xff\xff") == b"fragmented " * 50
        ws.send(frame(2, b"x", fin=False, rsv=4) + frame(0, b"y", rsv=4))
        ws.expect_close(1002)


def test_deflate_bomb_1009(small):
    with WS(small.port, headers=[("Sec-WebSocket-Extensions", "permessage-deflate")]) as ws:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = comp.compress(b"\0" * (16 << 20)) + comp.flush(zlib.Z_SYNC_FLUSH)
        assert len(data) < 32768
        ws.send_frame(2, data[:-4], rsv=4)
        ws.expect_close(1009)


def test_deflate_garbage_1002(chat):
    with WS(chat.port, headers=[("Sec-WebSocket-Extensions", "permessage-deflate")]) as ws:
        ws.send_frame(2, b"\xff\xff\xff\xff\xff\xff", rsv=4)
        ws.expect_close(1002)


# --------------------------------------------------------------------------
# interop: the websockets library as the client

def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


@pytest.mark.parametrize("compression", ["deflate", None])
def test_websockets_echo(chat, compression):
    async def main():
        url = "ws://127.0.0.1:%d/echo" % chat.port
        async with websockets.connect(url, compression=compression, max_size=None,
                                      subprotocols=["echo.v1"]) as ws:
            assert ws.subprotocol == "echo.v1"
            exts = ws.response.headers.get("sec-websocket-extensions")
            assert (exts is not None) == (compression is not None)
            for msg in ["hi", "", "é" * 50000, b"\x00\xff" * 70000, b""]:
                await ws.send(msg)
                assert await ws.recv() == msg
            await ws.send(["frag", "ment", "ed ", "κόσμε"])  # fragmented
            assert await ws.recv() == "fragmented κόσμε"
            await ws.send([b"a", b"b"])
            assert await ws.recv() == b"ab"
            latency = await ws.ping(b"data")
            await asyncio.wait_for(latency, 10)
            await ws.close(4000, "done")
        assert ws.close_code == 4000 and ws.close_reason == "done"
    _run(main())


def test_websockets_server_close_code(chat):
    async def main():
        async with websockets.connect("ws://127.0.0.1:%d/echo" % chat.port) as ws:
            await ws.send("close:3001")
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd.code == 3001 and info.value.rcvd.reason == "bye"
    _run(main())


def test_websockets_many_messages_both_ways(chat):
    async def main():
        async with websockets.connect("ws://127.0.0.1:%d/echo" % chat.port) as ws:
            async def sender():
                for i in range(3000):
                    await ws.send("n%d" % i)
            task = asyncio.ensure_future(sender())
            for i in range(3000):
                assert await ws.recv() == "n%d" % i
            await task
    _run(main())


def test_websockets_too_big(small):
    async def main():
        async with websockets.connect("ws://127.0.0.1:%d/echo" % small.port, max_size=None) as ws:
            await ws.send(b"z" * 70000)
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd.code == 1009
    _run(main())


# --------------------------------------------------------------------------
# the chat room and the game loop's broadcast (both modes)

def test_chat_room(rooms):
    async def main():
        base = "ws://127.0.0.1:%d" % rooms.port
        async with websockets.connect(base + "/chat?name=alice") as a:
            assert await a.recv() == "* alice joined"
            async with websockets.connect(base + "/chat?name=bob") as b:
                assert await b.recv() == "* bob joined"
                assert await a.recv() == "* bob joined"
                await a.send("hello κόσμε")
                assert await a.recv() == "alice: hello κόσμε"
                assert await b.recv() == "alice: hello κόσμε"
            assert await a.recv() == "* bob left"
    _run(main())


def test_game_state_ticks(rooms):
    async def main():
        base = "ws://127.0.0.1:%d" % rooms.port
        async with websockets.connect(base + "/state") as st:
            first = await st.recv()
            async with websockets.connect(base + "/chat?name=p1"):
                import json
                ticks, players = [json.loads(first)["tick"]], set()
                for _ in range(30):
                    m = json.loads(await st.recv())
                    ticks.append(m["tick"])
                    players.add(m["players"])
                    if 1 in players and len(ticks) > 5:
                        break
                assert ticks == sorted(ticks) and len(set(ticks)) == len(ticks)
                assert 1 in players
    _run(main())


def test_fan_out_many_clients(rooms):
    """200 subscribers, each gets the ticks (one broadcast per tick)."""
    n = 200
    socks = []
    try:
        for _ in range(n):
            socks.append(WS(rooms.port, path="/state"))
        for ws in socks:
            assert ws.status == 101
        seen = []
        for ws in socks:
            op, data = ws.recv_message()
            assert op == 1 and data.startswith(b'{"tick":')
            op, data2 = ws.recv_message()
            assert data2 != data  # the next tick
            seen.append(data2)
        assert len(seen) == n
    finally:
        for ws in socks:
            ws.close()


def test_graceful_stop_sends_1001(exe):
    server = Server(exe, {"CHAT_MODE": "serve", "FR_THREADS": "2"})
    try:
        ws = WS(server.port)
        ws.send_frame(1, "before stop")
        assert ws.recv_message() == (1, b"before stop")
        server.proc.send_signal(15)
        op, data = ws.recv_message()
        assert op == 8 and data[:2] == close_payload(1001)
        ws.send_frame(8, close_payload(1001))
        assert ws.eof()
        ws.close()
        assert server.proc.wait(IO_TIMEOUT) == 0
        out = server.output()
        assert "Sanitizer" not in out and "runtime error" not in out, out
    finally:
        if server.alive():
            server.proc.kill()
            server.proc.wait()


# --------------------------------------------------------------------------
# a browser as the client

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_browser_interop(chat):
    assert CHROMIUM is not None, "chromium missing: ./run-tests installs the Debian package"
    out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          "--virtual-time-budget=10000", "--dump-dom", "http://127.0.0.1:%d/" % chat.port],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    log = out.stdout.split('<pre id="log">')[1].split("</pre>")[0]
    assert log.splitlines() == [
        "open echo.v1 permessage-deflate",  # Chromium offers it; the page sees what we answered
        "msg h\u00e9llo",
        "msg bin1,2,255",
        "msg len100000",
        "close 4000 bye true",
    ], log
