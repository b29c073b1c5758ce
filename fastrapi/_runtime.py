"""Process-wide runtime used by the C glue: the asyncio loop thread and the
few coroutine helpers that only run on slow paths (a handler that really
suspends, custom exception handlers, async streaming, background tasks and
generator teardowns after the response)."""
from __future__ import annotations

import asyncio
import inspect
import logging
import os
import threading
import traceback
import types
import weakref
from tempfile import SpooledTemporaryFile
from typing import Any, List, Optional, Tuple

from starlette.datastructures import Headers, UploadFile
from starlette.responses import Response

from . import _fastrapi

error_logger = logging.getLogger("fastrapi.error")
access_logger = logging.getLogger("fastrapi.access")

import atexit
atexit.register(_fastrapi._at_exit)

_loop: Optional[asyncio.AbstractEventLoop] = None
_bound: Optional[asyncio.AbstractEventLoop] = None  # where the engine's async work runs
_thread: Optional[threading.Thread] = None
_lock = threading.Lock()


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # type: ignore
        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Make `loop` the one that runs the engine's async work (async handlers
    and dependencies, teardowns, background tasks). Called on that loop's
    thread: by the native server's loop thread, and by the ASGI face on the
    ASGI server's running loop."""
    global _bound
    if _bound is loop:
        return
    fd = _fastrapi._wakeup_fd()
    old = _bound
    if old is not None and not old.is_closed():
        try:
            old.call_soon_threadsafe(old.remove_reader, fd)
        except RuntimeError:  # closed meanwhile
            pass
    _fastrapi._set_loop(loop)  # the engine forgets the old loop thread
    loop.add_reader(fd, _fastrapi._drain)
    _bound = loop
    loop.call_soon(_fastrapi._drain)  # mark this thread as the loop thread


def get_loop() -> asyncio.AbstractEventLoop:
    """The native server's event loop for async handlers (a thread of its
    own, started on first use; bound to the engine again if the ASGI face
    used another loop meanwhile)."""
    global _loop, _thread
    with _lock:
        if _loop is not None and _thread is not None and _thread.is_alive():
            if _bound is not _loop:
                asyncio.run_coroutine_threadsafe(_bind_here(), _loop).result(30)
            return _loop
        loop = new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            _fastrapi._intercept_steps(loop)  # own loop: no first step for Tasks that need none
            bind_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()

        t = threading.Thread(target=run, name="fastrapi-asyncio", daemon=True)
        t.start()
        started.wait()
        _loop, _thread = loop, t
        return loop


async def _bind_here() -> None:
    bind_loop(asyncio.get_running_loop())


def reset_after_fork() -> None:
    global _loop, _thread, _bound
    _loop = None
    _bound = None
    _thread = None


def run_coro(coro: Any, timeout: Optional[float] = None) -> Any:
    """Run a coroutine on the loop from another thread and wait for it."""
    return asyncio.run_coroutine_threadsafe(coro, get_loop()).result(timeout)


@types.coroutine
def _continue(coro: Any, first: Any):
    """Resume a coroutine that already yielded `first` (driven by C)."""
    y = first
    while True:
        try:
            sent = yield y
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # forward cancellation / errors
            try:
                y = coro.throw(exc)
            except StopIteration as e:
                return e.value
        else:
            try:
                y = coro.send(sent)
            except StopIteration as e:
                return e.value


async def _wrap(coro: Any, first: Any) -> Any:
    return await _continue(coro, first)


import collections.abc as _abc  # noqa: E402
_abc.Coroutine.register(_fastrapi.Shim)  # what a handler's Task drives (see fastrapi_py.c)


def resume(x: Any) -> "asyncio.Task":
    # the loop bound to the engine (the ASGI face's after the native server's ran)
    loop = _bound or _loop or asyncio.get_running_loop()
    if isinstance(x, tuple):
        return loop.create_task(_wrap(x[0], x[1]))
    return loop.create_task(x)


async def call_handler(handler: Any, request: Any, exc: BaseException) -> Any:
    r = handler(request, exc)
    if inspect.isawaitable(r):
        r = await r
    if not callable(r):  # Starlette then calls it as an ASGI app
        raise TypeError(f"'{type(r).__name__}' object is not callable")
    return r


async def stream(it: Any, write: Any, wait: Any) -> None:
    # write() never blocks: 1 means the client's queue is above its high-water
    # mark, and wait(fut) then has the engine resolve fut once it drained
    # (-1: the client left). A client that leaves cancels this task; either
    # way the iterator is closed, so an async generator's finally runs.
    try:
        async for chunk in it:
            r = write(chunk)
            if r < 0:
                break
            if r > 0:
                fut = asyncio.get_running_loop().create_future()
                if wait(fut) and await fut < 0:
                    break
    finally:
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            await aclose()


def _exit_gen(gen: Any, exc: Optional[BaseException]) -> Optional[BaseException]:
    """contextmanager.__exit__ for a generator dependency: the exception that goes
    on to the next (outer) one, None when it finished cleanly or suppressed `exc`."""
    try:
        if exc is None:
            next(gen)
        else:
            gen.throw(exc)
    except StopIteration:
        return None
    except BaseException as e:  # `exc` re-raised, or a new one chained to it
        return e
    if exc is None:
        return RuntimeError("generator dependency didn't stop")
    return RuntimeError("generator dependency didn't stop after throw()")


async def _aexit_gen(gen: Any, exc: Optional[BaseException]) -> Optional[BaseException]:
    try:
        if exc is None:
            await gen.__anext__()
        else:
            await gen.athrow(exc)
    except StopAsyncIteration:
        return None
    except BaseException as e:
        return e
    if exc is None:
        return RuntimeError("async generator dependency didn't stop")
    return RuntimeError("async generator dependency didn't stop after athrow()")


def unwind_sync(gens: List[Any], exc: Optional[BaseException]) -> Optional[BaseException]:
    """Exit plain generator dependencies in the order the engine gives them
    (innermost first), chaining exceptions like FastAPI's AsyncExitStack;
    returns the exception that is left (or None)."""
    for gen in gens or ():
        exc = _exit_gen(gen, exc)
    return exc


async def unwind(gens: List[Any], exc: Optional[BaseException]) -> Optional[BaseException]:
    """unwind_sync for any mix of generators: async ones on the loop, plain ones in a
    thread (as FastAPI's contextmanager_in_threadpool)."""
    for gen in gens or ():
        if inspect.isasyncgen(gen):
            exc = await _aexit_gen(gen, exc)
        else:
            exc = await asyncio.to_thread(_exit_gen, gen, exc)
    return exc


async def unwind_function(gens: List[Any], ret: Any) -> Any:
    """Depends(scope="function"): exit those generators after the endpoint returned and
    before the response; an exception from them replaces the endpoint's value."""
    exc = await unwind(gens, None)
    if exc is not None:
        raise exc
    return ret


async def unwind_error(gens: List[Any], exc: BaseException) -> BaseException:
    """Error path (run BEFORE the error response, like FastAPI): throw `exc` into the
    generators; the exception that comes out is what the response is built from."""
    out = await unwind(gens, exc)
    if out is None:
        from .exceptions import FastAPIError
        out = FastAPIError(
            "Response not awaited. There's a high chance that the application code is "
            "raising an exception and a dependency with yield has a block with a bare "
            "except, or a block with except Exception, and is not raising the exception "
            "again.")
        out.__context__ = exc
    return out


async def after_response(bg: Any, bg2: Any, teardowns: Optional[List[Any]],
                         exc: Optional[BaseException], route: Any = None, channel: Any = None,
                         app: Any = None, server_sink: Any = None) -> None:
    """Post-response work. A failure goes to the ASGI server (raised out of
    the app call, as Starlette does) or, on the native server, to the log."""
    def report(what: str, e: BaseException) -> None:
        # the native server: logged, and a TestClient(raise_server_exceptions)
        # waiting for this request's after-work raises it, as Starlette's does
        log_exc(route, what, e, channel, app, server_sink)

    task = bg if bg is not None else bg2
    if task is not None:
        try:
            await task()
        except Exception as e:
            report("Exception in background task", e)
    if teardowns:
        out = await unwind(teardowns, exc)
        if out is not None and out is not exc:
            report("Exception in dependency teardown", out)


def format_exc(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def log_exc(route: Any, what: str, exc: BaseException, channel: Any = None,
            app: Any = None, server_sink: Any = None) -> None:
    where = ""
    if route is not None:
        where = f" [{','.join(sorted(getattr(route, 'methods', ()) or ()))} {getattr(route, 'path', '')}]"
    if channel is not None:  # an ASGI request: re-raised to the server after the 500
        channel(("exception", exc))  # (fastrapi._asgi), which logs it, as Starlette does
        return
    error_logger.error("%s%s", what, where, exc_info=(type(exc), exc, exc.__traceback__))
    # a TestClient(raise_server_exceptions=True): the one whose server this
    # is (a list; False: that client does not raise them), else per route,
    # or app-wide for requests that run through the app's middleware stack
    if server_sink is not None:
        if isinstance(server_sink, list):
            server_sink.append(exc)
        return
    sink = getattr(route, "_fr_exc_sink", None)
    if sink is None:
        sink = getattr(app, "_fr_exc_sink", None)
    if sink is not None:
        sink.append(exc)


def log_access(lines: str) -> None:
    if access_logger.disabled or not access_logger.isEnabledFor(logging.INFO):
        return
    for line in lines.splitlines():
        access_logger.info(line)


_LIMITS = (  # serve()/CLI option -> the engine's fr_config field (fastrapi_py.c)
    ("timeout_header", "header_timeout_ms"), ("timeout_keep_alive", "idle_timeout_ms"),
    ("timeout_body", "body_timeout_ms"), ("timeout_graceful_shutdown", "drain_timeout_ms"))


def server_limits(**options: Any) -> dict:
    """serve()'s timeouts (seconds) and limit_concurrency as the engine
    server's keyword arguments (ms / count); None = the engine's default."""
    out = {}
    for name, field in _LIMITS:
        v = options.get(name)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ValueError(f"{name} must be a number of seconds > 0, not {v!r}")
        out[field] = max(1, min(int(round(v * 1000)), 2**31 - 1))
    v = options.get("limit_concurrency")
    if v is not None:
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"limit_concurrency must be an int > 0, not {v!r}")
        out["max_connections"] = min(v, 2**31 - 1)
    return out


def _limit(v: Any) -> int:
    """A Starlette form limit for the engine (int or float('inf'): < 0 = none)."""
    return -1 if v == float("inf") else int(v)


def parse_multipart(body: bytes, content_type: Optional[str], max_files: Any = 1000,
                    max_fields: Any = 1000, max_part_size: int = 1024 * 1024) -> List[Tuple[str, Any]]:
    """Form bodies as Starlette's Request.form() reads them -> [(name, value)],
    both parsed by the engine (src/multipart.c; urlencoded pairs by the query
    string's decoder) under Starlette's limits; values are str or
    Starlette's UploadFile. Bad bodies raise FastAPI's 400."""
    items = _fastrapi.multipart(body, content_type, _limit(max_fields), _limit(max_files),
                                _limit(max_part_size))
    return [] if items is None else upload_items(items)


def upload_items(items: Any) -> List[Tuple[str, Any]]:
    """Parsed form parts, from the engine's fr_mp_next over a body in memory
    or its fr_form (a streamed body, fr_req_form): [(name, str | (filename,
    headers, memoryview | bytes | fd))] -> [(name, value)] with UploadFiles;
    a str is the 400 detail FastAPI answers."""
    if type(items) is str:
        from .exceptions import HTTPException
        raise HTTPException(400, items)
    for i, (name, value) in enumerate(items):
        if type(value) is tuple:
            items[i] = (name, _upload(*value))
    return items


def _upload(filename: str, headers: list, data: Any) -> UploadFile:
    """Starlette's UploadFile over a SpooledTemporaryFile (in memory up to 1
    MiB, then on disk), as Starlette's MultiPartParser builds it. data an
    int: the engine's temp file holding the part (already on disk: the
    SpooledTemporaryFile is born rolled over onto a dup of it, no copy)."""
    f = SpooledTemporaryFile(max_size=_SPOOL_MAX_SIZE)
    if type(data) is int:
        disk = os.fdopen(os.dup(data), "w+b")
        size = os.fstat(disk.fileno()).st_size
        disk.seek(0)
        f._file.close()
        f._file = disk  # what rollover() leaves: the data in a real file
        f._rolled = True
        del f._TemporaryFileArgs
        return UploadFile(f, size=size, filename=filename, headers=Headers(raw=headers))
    if len(data) > _SPOOL_MAX_SIZE:
        f.rollover()  # straight to disk, not through a BytesIO copy
    f.write(data)
    f.seek(0)
    return UploadFile(f, size=len(data), filename=filename, headers=Headers(raw=headers))


_SPOOL_MAX_SIZE = 1024 * 1024  # Starlette's MultiPartParser.spool_max_size


# What a frontend's dependencies route returns: the engine answers with
# the frontend's file (fr_frontend_serve), adding the dependencies' headers
FRONTEND_FILES = Response()


# per endpoint function, held weakly: an id() key outlived its function and
# gave a later endpoint at the same address the old one's file and line
_endpoint_ctx_cache: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _cached_ctx(call: Any) -> Optional[dict]:
    try:
        return _endpoint_ctx_cache.get(call)
    except TypeError:  # not weak-referenceable (or unhashable): not cached
        return None


def endpoint_ctx(exc: BaseException, route: Any, method: str, root_path: str) -> None:
    """FastAPI's endpoint context on a validation error the route raised
    (Request/ResponseValidationError without one): the endpoint's file,
    line and name, and "METHOD /path" (str(exc) ends with them)."""
    from .exceptions import ValidationException
    if not isinstance(exc, ValidationException) or exc.endpoint_ctx is not None:
        return
    call = getattr(route, "endpoint", None)
    ctx = _cached_ctx(call) if call is not None else None
    if ctx is None:
        ctx = {}
        try:
            src = inspect.getsourcefile(call)
            if src is not None:
                ctx["file"] = src
            ctx["line"] = inspect.getsourcelines(call)[1]
            name = getattr(call, "__name__", None)
            if name is not None:
                ctx["function"] = name
        except Exception:  # noqa: BLE001 -- FastAPI's: no context then
            ctx = {}
        if call is not None:
            try:
                _endpoint_ctx_cache[call] = ctx
            except TypeError:
                pass
    ctx = dict(ctx)
    path = getattr(route, "path", None)
    if path:
        ctx["path"] = f"{method} {root_path.rstrip('/')}{path}"
    exc.endpoint_ctx = ctx
    exc.endpoint_function = ctx.get("function")
    exc.endpoint_path = ctx.get("path")
    exc.endpoint_file = ctx.get("file")
    exc.endpoint_line = ctx.get("line")


def file_open(response: Any) -> Tuple[int, int]:
    """Any starlette.responses.FileResponse about to be sent by the engine
    (worker thread): stat its file and set the stat headers as Starlette's
    FileResponse.__call__ does (raising as it does), open it; returns (fd,
    size). The engine sends it with sendfile(2) and closes the fd."""
    import os
    import stat

    path = response.path
    if response.stat_result is None:
        try:
            st = os.stat(path)
            response.set_stat_headers(st)
        except FileNotFoundError:
            raise RuntimeError(f"File at path {path} does not exist.")
        else:
            if not stat.S_ISREG(st.st_mode):
                raise RuntimeError(f"File at path {path} is not a file.")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        size = os.fstat(fd).st_size
    except BaseException:
        os.close(fd)
        raise
    return fd, size


def recompile(route: Any) -> tuple:
    return route._fr_plan()
