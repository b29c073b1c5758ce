"""Native routes: C handlers from a shared library, served by the engine
beside the Python routes, loaded at run time without rebuilding fastrapi.

The C side (``src/native.h``)::

    // handlers.c -- fastrapi build-native handlers.c -o handlers.so
    #include "fastrapi.h"
    FR_NATIVE_MODULE();
    FR_NATIVE_EXPORT int hello(fr_req *req, void *ud) {
        return fr_res_json(req, 200, "{\\"hello\\":\\"C\\"}", 13);
    }

The Python side::

    app.add_native_route("GET", "/hello", "handlers.so", "hello")

    lib = fastrapi.native.load("handlers.so")

    @app.native_route("GET", "/top/{n:int}", lib)   # the C function `top`
    def top(n: int) -> Leaderboard:                   # never called: its
        "The n best players."                          # signature, return type
                                                       # and docstring are the
                                                       # OpenAPI operation

How it works. The extension exports the engine's ``fr_*`` functions; before
the first library is loaded it is made global (``RTLD_GLOBAL |
RTLD_NOLOAD``), so the library -- compiled WITHOUT ``FASTRAPI_IMPLEMENTATION``
-- calls the running engine: one engine, one router. ``load`` refuses, with
:class:`NativeModuleError`, a missing file, a library that does not load
(``RTLD_NOW``: an engine function it needs is missing), and one whose
``FR_NATIVE_MODULE()`` descriptor does not match the engine (version
MAJOR.MINOR, struct sizes; ``fr_native_check``). A native route is a plain
``fr_route`` entry of each server the app builds (native server and ASGI
face alike): the engine calls the handler itself, with the route's
``user_data``; access log and middleware are those of every route. Python
dependencies do not run for it (the handler answers alone): registering one
where dependencies would apply is refused.

A handler answers inline (``FR_DONE``) or returns ``FR_PENDING`` and
finishes from another thread, as in a C program; for a slow path it may call
a Python function registered with ``app.native_callback(name, fn)`` through
``fr_py_call`` (src/native.h), which takes the GIL.

POSIX only (dlopen); tested on Linux. On macOS ``build`` links with
``-undefined dynamic_lookup``."""
from __future__ import annotations

import ctypes
import functools
import inspect
import os
import shlex
import subprocess
import sys
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from starlette.convertors import FloatConvertor, IntegerConvertor
from starlette.routing import compile_path

from .routing import APIRoute

__all__ = ["NativeModuleError", "NativeLibrary", "NativeHandler", "NativeRoute", "load",
           "add_native_route", "native_route", "get_include", "build", "build_command",
           "engine_version"]


class NativeModuleError(ImportError):
    """A native module cannot be used: not found, does not load, was built
    against a different fastrapi.h, or lacks a symbol."""


def get_include() -> str:
    """The directory holding ``fastrapi.h`` -- the header of the engine this
    package runs -- for ``cc -I`` (like ``numpy.get_include()``). Installed:
    the package directory; a source checkout (editable install): its root."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (here, os.path.dirname(here)):
        if os.path.isfile(os.path.join(d, "fastrapi.h")):
            return d
    raise NativeModuleError(f"fastrapi.h is not installed next to {here}")


def build_command(sources: Sequence[str], output: str, *, cc: Optional[str] = None,
                  extra_args: Sequence[str] = ()) -> List[str]:
    """The compiler command ``build`` runs: ``cc -shared -fPIC -O2
    -I<get_include()> SOURCES... EXTRA... -o OUTPUT`` (``cc``: argument, else
    $CC, else "cc")."""
    cmd = shlex.split(cc or os.environ.get("CC") or "cc")
    cmd += ["-shared", "-fPIC", "-O2"]
    if sys.platform == "darwin":  # fr_* come from the extension at load time
        cmd += ["-undefined", "dynamic_lookup"]
    cmd += ["-I" + get_include()] + list(sources) + list(extra_args) + ["-o", output]
    return cmd


def build(sources: Union[str, Sequence[str]], output: Optional[str] = None, *,
          cc: Optional[str] = None, extra_args: Sequence[str] = (),
          echo: Optional[Callable[[str], Any]] = None) -> str:
    """Compile a native module; returns its path (default: the first
    source's name with ``.so``). The command is given to ``echo`` first (the
    CLI prints it). Raises NativeModuleError with the compiler's output when
    it fails."""
    if isinstance(sources, str):
        sources = [sources]
    if not sources:
        raise ValueError("no source file")
    if output is None:
        output = os.path.splitext(sources[0])[0] + ".so"
    cmd = build_command(sources, output, cc=cc, extra_args=extra_args)
    if echo is not None:
        echo(shlex.join(cmd))
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise NativeModuleError(f"cannot run {cmd[0]}: {e}") from None
    if r.returncode != 0:
        raise NativeModuleError(f"{shlex.join(cmd)} failed ({r.returncode}):\n"
                                f"{r.stderr or r.stdout}")
    return output


def build_main(sources: Sequence[str], output: Optional[str], cc: Optional[str],
               cc_args: Sequence[str] = ()) -> int:
    """``fastrapi build-native``: 0, or 1 with the compiler's output on stderr.
    cc_args (what follows -- on the command line) go to the compiler."""
    try:
        out = build(list(sources), output, cc=cc, extra_args=cc_args, echo=print)
    except NativeModuleError as e:
        print(f"fastrapi build-native: {e}", file=sys.stderr)
        return 1
    print(f"built {out}")
    return 0


# ---- loading

_lock = threading.Lock()
_promoted = False
_cache: Dict[str, "NativeLibrary"] = {}


def _engine() -> Any:
    from .applications import _setup_extension
    return _setup_extension()


def _promote_engine(ext: Any) -> None:
    """Make the extension's fr_* visible to libraries loaded after it."""
    global _promoted
    if _promoted:
        return
    if os.name != "posix":
        raise NativeModuleError("native modules need POSIX dlopen (Linux, macOS)")
    ctypes.CDLL(ext.__file__, mode=os.RTLD_GLOBAL | os.RTLD_NOLOAD)
    _promoted = True


def engine_version() -> str:
    """The running engine's FASTRAPI_VERSION_STRING."""
    return _engine()._native_version()


class NativeHandler:
    """An ``fr_handler`` of a loaded library (what a native route calls)."""

    __slots__ = ("library", "symbol", "address")

    def __init__(self, library: "NativeLibrary", symbol: str, address: int) -> None:
        self.library, self.symbol, self.address = library, symbol, address

    def __repr__(self) -> str:
        return f"<NativeHandler {self.symbol} of {self.library.path}>"


class NativeLibrary:
    """A native module accepted by the running engine (see :func:`load`).
    ``lib.handler("name")`` (or ``lib.name``) is one of its handlers."""

    def __init__(self, path: str, cdll: Any) -> None:
        self.path = path
        #: the ctypes library: call the module's other exported functions
        #: (e.g. one the app uses to publish data to its handlers)
        self.cdll = cdll  # never unloaded (ctypes does not dlclose)

    def handler(self, symbol: str) -> NativeHandler:
        if not isinstance(symbol, str) or not symbol:
            raise TypeError("symbol must be a non-empty str")
        try:
            fn = self.cdll[symbol]
        except AttributeError:
            raise NativeModuleError(
                f"native module {self.path} has no symbol {symbol!r} (a handler must be "
                f"exported: FR_NATIVE_EXPORT int {symbol}(fr_req *req, void *ud))") from None
        return NativeHandler(self, symbol, ctypes.cast(fn, ctypes.c_void_p).value)

    def __getattr__(self, name: str) -> NativeHandler:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.handler(name)

    def __repr__(self) -> str:
        return f"<NativeLibrary {self.path}>"


def load(path: Union[str, "os.PathLike[str]"]) -> NativeLibrary:
    """Load a native module and check it against the running engine. Raises
    NativeModuleError: no such file, the loader refuses it (its message, e.g.
    an undefined fr_* symbol), no or a mismatched FR_NATIVE_MODULE()
    descriptor (the message names both versions or sizes). A refused library
    is never called.

    A library is loaded once per process and never unloaded: loading a path
    again gives the same library, even when the file was rebuilt meanwhile
    (the dynamic loader keeps the one it has). Restart to pick up a rebuild
    (``fastrapi dev`` restarts only for .py changes)."""
    p = os.fspath(path)
    full = os.path.realpath(p)
    try:
        os.stat(full)
    except OSError as e:
        raise NativeModuleError(f"native module {p!r}: {e.strerror or e}") from None
    key = full
    ext = _engine()
    with _lock:
        lib = _cache.get(key)
        if lib is not None:
            return lib
        _promote_engine(ext)
        try:
            cdll = ctypes.CDLL(full, mode=os.RTLD_LOCAL)
        except OSError as e:
            hint = ""
            if "undefined symbol: fr_" in str(e):
                hint = (f" (the running engine is fastrapi {ext._native_version()}: rebuild the "
                        f"module against its header, fastrapi.get_include())")
            raise NativeModuleError(f"cannot load native module {p}: {e}{hint}") from None
        try:
            desc: Optional[int] = ctypes.addressof(ctypes.c_char.in_dll(cdll, "fr_native_module"))
        except ValueError:
            desc = None
        why = ext._native_check(desc)
        if why is not None:
            raise NativeModuleError(f"native module {p} refused: {why}")
        lib = _cache[key] = NativeLibrary(p, cdll)
        return lib


def _library(library: Union[str, "os.PathLike[str]", NativeLibrary]) -> NativeLibrary:
    return library if isinstance(library, NativeLibrary) else load(library)


# ---- routes

def _user_data(value: Any) -> Tuple[Any, Any]:
    """(what the glue copies or passes, what must stay alive): bytes are
    copied into the route (NUL-terminated), str as UTF-8, an int is passed
    as an address, a ctypes object by its address (the route keeps it)."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return value.encode("utf-8"), None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), None
    if isinstance(value, bool):
        raise TypeError("user_data must be bytes, str, an int address, a ctypes object or None")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("user_data address must be >= 0")
        return value, None
    if isinstance(value, ctypes._SimpleCData) or isinstance(value, (ctypes.Structure,
                                                                     ctypes.Union, ctypes.Array)):
        return ctypes.addressof(value), value
    raise TypeError("user_data must be bytes, str, an int address, a ctypes object or None")


_PY_TYPES = {IntegerConvertor: int, FloatConvertor: float}


def _stub(path: str, symbol: str) -> Callable[..., Any]:
    """The OpenAPI stand-in of a route given without a Python function: its
    path parameters, typed by their convertors."""
    def stub() -> None:  # pragma: no cover - never called
        raise RuntimeError("a native route is served by its C handler")
    _, _, convertors = compile_path(path)
    params = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY,
                                annotation=_PY_TYPES.get(type(c), str))
              for n, c in convertors.items()]
    stub.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    stub.__annotations__ = {p.name: p.annotation for p in params}
    stub.__name__ = stub.__qualname__ = symbol
    stub.__doc__ = None
    return stub


class NativeRoute(APIRoute):
    """A route whose requests the engine hands to a C handler. For OpenAPI it
    is the APIRoute of its ``endpoint``: a Python function that is never
    called, whose signature, return annotation and docstring, plus the usual
    route options, make the operation. The handler and user_data are the
    endpoint's ``_fr_native`` (set by add_native_route / native_route, so
    include_router copies a native route as it copies any APIRoute)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        spec = getattr(endpoint, "_fr_native", None)
        if spec is None or not isinstance(spec[0], NativeHandler):
            raise TypeError("a NativeRoute's endpoint carries its handler: use "
                            "app.add_native_route or app.native_route")
        if kwargs.get("dependencies"):
            raise ValueError(
                f"native route {path}: dependencies (of the route, its router or the app) do not "
                f"run for a C handler, which answers alone; check in C, or in an "
                f"@app.middleware, what they would check")
        self.native: NativeHandler = spec[0]
        self.user_data, self._fr_keep = _user_data(spec[1])
        super().__init__(path, endpoint, **kwargs)

    def _fr_native_register(self, srv: Any, seen: set, engine_path: Callable[[str], str]) -> None:
        """Called by FastrAPI._build_server for each server it builds."""
        for m in sorted(self.methods):
            key = (m, engine_path(self.path))
            if key in seen:  # Starlette: the first registered route wins
                continue
            seen.add(key)
            srv.add_native_route(m, key[1], self.native.address, self.user_data, self)

    def __repr__(self) -> str:
        return (f"NativeRoute(path={self.path!r}, name={self.name!r}, "
                f"methods={sorted(self.methods)!r}, handler={self.native.symbol!r})")


def _router(target: Any) -> Any:
    """An app's router, or the APIRouter given."""
    router = getattr(target, "router", None)
    return router if router is not None and hasattr(router, "add_api_route") else target


def _methods(method: Union[str, Sequence[str]]) -> List[str]:
    ms = [method] if isinstance(method, str) else list(method)
    if not ms or not all(isinstance(m, str) and m for m in ms):
        raise TypeError("method must be a non-empty str or a list of them")
    return [m.upper() for m in ms]


def add_native_route(target: Any, method: Union[str, Sequence[str]], path: str,
                     library: Union[str, "os.PathLike[str]", NativeLibrary], symbol: str, *,
                     user_data: Any = None, endpoint: Optional[Callable[..., Any]] = None,
                     **kwargs: Any) -> NativeRoute:
    """``app.add_native_route`` (also for an APIRouter): see
    FastrAPI.add_native_route. ``endpoint``: the Python function documenting
    the route (default: one with the path's parameters)."""
    methods = _methods(method)
    handler = _library(library).handler(symbol)
    _user_data(user_data)  # a bad value fails here, before anything is registered
    if endpoint is None:
        ep = _stub(path, symbol)
    else:
        @functools.wraps(endpoint)
        def ep(*a: Any, **kw: Any) -> Any:  # pragma: no cover - never called
            raise RuntimeError("a native route is served by its C handler")
    ep._fr_native = (handler, user_data)  # type: ignore[attr-defined]
    return _router(target).add_api_route(path, ep, methods=methods,
                                         route_class_override=NativeRoute, **kwargs)


def native_route(target: Any, method: Union[str, Sequence[str]], path: str,
                 library: Union[str, "os.PathLike[str]", NativeLibrary], *,
                 symbol: Optional[str] = None, user_data: Any = None,
                 **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``app.native_route``: see FastrAPI.native_route."""
    lib = _library(library)

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        add_native_route(target, method, path, lib, symbol or fn.__name__, user_data=user_data,
                         endpoint=fn, **kwargs)
        return fn
    return decorator


def native_callback(app: Any, name: str, fn: Optional[Callable[..., Any]] = None) -> Any:
    """``app.native_callback``: see FastrAPI.native_callback."""
    if not isinstance(name, str) or not name:
        raise TypeError("a native callback needs a non-empty str name")

    def register(f: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(f):
            raise TypeError("a native callback must be callable")
        if inspect.iscoroutinefunction(f) or inspect.isasyncgenfunction(f):
            raise TypeError(f"native callback {name!r}: fr_py_call calls it synchronously from C; "
                            f"use a def function")
        app.__dict__.setdefault("_fr_native_callbacks", {})[name] = f
        return f
    return register if fn is None else register(fn)
