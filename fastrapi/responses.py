"""Response classes with Starlette's constructor signatures and header rules.

The C glue reads ``status_code``, ``raw_headers`` and ``body`` (or
``body_iterator`` for streaming ones) and writes them itself."""
from __future__ import annotations

import hashlib
import http.cookies
import json
import os
import stat as _stat
from datetime import datetime
from email.utils import format_datetime, formatdate
from mimetypes import guess_type
from typing import Any, AsyncIterable, Iterable, Mapping, Optional, Union
from urllib.parse import quote

from .background import BackgroundTask
from .datastructures import MutableHeaders


class Response:
    media_type: Optional[str] = None
    charset = "utf-8"

    def __init__(self, content: Any = None, status_code: int = 200,
                 headers: Optional[Mapping[str, str]] = None,
                 media_type: Optional[str] = None,
                 background: Optional[BackgroundTask] = None) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        self.init_headers(headers)

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, (bytes, memoryview)):
            return bytes(content)
        return content.encode(self.charset)

    def init_headers(self, headers: Optional[Mapping[str, str]] = None) -> None:
        if headers is None:
            raw_headers: list = []
            populate_content_length = populate_content_type = True
        else:
            raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                           for k, v in headers.items()]
            keys = [h[0] for h in raw_headers]
            populate_content_length = b"content-length" not in keys
            populate_content_type = b"content-type" not in keys
        body = getattr(self, "body", None)
        if (body is not None and populate_content_length
                and not (self.status_code < 200 or self.status_code in (204, 304))):
            raw_headers.append((b"content-length", str(len(body)).encode("latin-1")))
        content_type = self.media_type
        if content_type is not None and populate_content_type:
            if content_type.startswith("text/") and "charset=" not in content_type.lower():
                content_type += "; charset=" + self.charset
            raw_headers.append((b"content-type", content_type.encode("latin-1")))
        self.raw_headers = raw_headers

    @property
    def headers(self) -> MutableHeaders:
        if not hasattr(self, "_headers"):
            self._headers = MutableHeaders(raw=self.raw_headers)
        return self._headers

    def set_cookie(self, key: str, value: str = "", max_age: Optional[int] = None,
                   expires: Union[datetime, str, int, None] = None, path: Optional[str] = "/",
                   domain: Optional[str] = None, secure: bool = False, httponly: bool = False,
                   samesite: Optional[str] = "lax", partitioned: bool = False) -> None:
        cookie: http.cookies.BaseCookie = http.cookies.SimpleCookie()
        cookie[key] = value
        if max_age is not None:
            cookie[key]["max-age"] = max_age
        if expires is not None:
            if isinstance(expires, datetime):
                cookie[key]["expires"] = format_datetime(expires, usegmt=True)
            else:
                cookie[key]["expires"] = expires
        if path is not None:
            cookie[key]["path"] = path
        if domain is not None:
            cookie[key]["domain"] = domain
        if secure:
            cookie[key]["secure"] = True
        if httponly:
            cookie[key]["httponly"] = True
        if samesite is not None:
            assert samesite.lower() in ["strict", "lax", "none"], \
                "samesite must be either 'strict', 'lax' or 'none'"
            cookie[key]["samesite"] = samesite
        if partitioned:
            raise ValueError("Partitioned cookies are only supported in Python 3.14 and above.")
        cookie_val = cookie.output(header="").strip()
        self.raw_headers.append((b"set-cookie", cookie_val.encode("latin-1")))

    def delete_cookie(self, key: str, path: str = "/", domain: Optional[str] = None,
                      secure: bool = False, httponly: bool = False,
                      samesite: Optional[str] = "lax", partitioned: bool = False) -> None:
        self.set_cookie(key, max_age=0, expires=0, path=path, domain=domain, secure=secure,
                        httponly=httponly, samesite=samesite, partitioned=partitioned)


class HTMLResponse(Response):
    media_type = "text/html"


class PlainTextResponse(Response):
    media_type = "text/plain"


def _dumps(content: Any) -> bytes:
    try:
        from ._fastrapi import dumps
    except ImportError:  # extension not built: plain json
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode("utf-8")
    return dumps(content)


class JSONResponse(Response):
    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200,
                 headers: Optional[Mapping[str, str]] = None,
                 media_type: Optional[str] = None,
                 background: Optional[BackgroundTask] = None) -> None:
        super().__init__(content, status_code, headers, media_type, background)

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode("utf-8")


class ORJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            import orjson
        except ImportError:
            return super().render(content)
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


class UJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            import ujson
        except ImportError:
            return super().render(content)
        return ujson.dumps(content, ensure_ascii=False).encode("utf-8")


class RedirectResponse(Response):
    def __init__(self, url: Any, status_code: int = 307,
                 headers: Optional[Mapping[str, str]] = None,
                 background: Optional[BackgroundTask] = None) -> None:
        super().__init__(content=b"", status_code=status_code, headers=headers,
                         background=background)
        self.headers["location"] = quote(str(url), safe=":/%#?=@[]!$&'()*+,;")


class StreamingResponse(Response):
    """Chunked response from a sync or async iterator of str/bytes."""

    def __init__(self, content: Union[Iterable, AsyncIterable], status_code: int = 200,
                 headers: Optional[Mapping[str, str]] = None,
                 media_type: Optional[str] = None,
                 background: Optional[BackgroundTask] = None) -> None:
        self.body_iterator = content
        self.status_code = status_code
        self.media_type = self.media_type if media_type is None else media_type
        self.background = background
        self.init_headers(headers)


class FileResponse(Response):

    def __init__(self, path: Union[str, "os.PathLike[str]"], status_code: int = 200,
                 headers: Optional[Mapping[str, str]] = None,
                 media_type: Optional[str] = None,
                 background: Optional[BackgroundTask] = None,
                 filename: Optional[str] = None,
                 stat_result: Optional[os.stat_result] = None,
                 method: Optional[str] = None,
                 content_disposition_type: str = "attachment") -> None:
        self.path = path
        self.status_code = status_code
        self.filename = filename
        if media_type is None:
            media_type = guess_type(filename or path)[0] or "application/octet-stream"
        self.media_type = media_type
        self.background = background
        self.init_headers(headers)
        self.headers.setdefault("accept-ranges", "bytes")
        if self.filename is not None:
            cd_filename = quote(self.filename)
            if cd_filename != self.filename:
                cd = f"{content_disposition_type}; filename*=utf-8''{cd_filename}"
            else:
                cd = f'{content_disposition_type}; filename="{self.filename}"'
            self.headers.setdefault("content-disposition", cd)
        self.stat_result = stat_result
        if stat_result is not None:
            self.set_stat_headers(stat_result)

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        content_length = str(stat_result.st_size)
        last_modified = formatdate(stat_result.st_mtime, usegmt=True)
        etag_base = str(stat_result.st_mtime) + "-" + str(stat_result.st_size)
        etag = f'"{hashlib.md5(etag_base.encode(), usedforsecurity=False).hexdigest()}"'
        self.headers.setdefault("content-length", content_length)
        self.headers.setdefault("last-modified", last_modified)
        self.headers.setdefault("etag", etag)

    def _fr_open(self):
        """Called by the engine (on a worker thread): stat + open; returns
        (fd, size) and the engine sends the file with sendfile(2) and closes
        the fd. Raises on a missing file."""
        if self.stat_result is None:
            st = os.stat(self.path)
            if not _stat.S_ISREG(st.st_mode):
                raise RuntimeError(f"File at path {self.path} is not a file.")
            self.stat_result = st
            self.set_stat_headers(st)
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            size = os.fstat(fd).st_size
        except BaseException:
            os.close(fd)
            raise
        return fd, size
