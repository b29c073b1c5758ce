"""The ``fastrapi`` command: ``fastrapi run`` / ``fastrapi dev`` (also
``python -m fastrapi``) serve an app on fastrapi's native server.

App discovery follows fastapi-cli's ``fastapi run``: a PATH to a ``.py`` file
or a package directory (default: main.py, app.py, api.py, app/main.py,
app/app.py, app/api.py), imported with the directory above its topmost
package on ``sys.path``; the app is the variable named by ``--app``, else
``app``, else ``api``, else the first FastAPI/FastrAPI instance in the
module. ``module:attr`` (uvicorn's form), ``--entrypoint`` or
``[tool.fastrapi]`` / ``[tool.fastapi]`` ``entrypoint`` in pyproject.toml name it
directly. The FastAPI import switch (``fastrapi.compat``) is installed before
the app is imported unless ``--no-compat``."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import logging
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

logger = logging.getLogger("fastrapi.error")

DEFAULT_PATHS = ("main.py", "app.py", "api.py", "app/main.py", "app/app.py", "app/api.py")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class CLIError(Exception):
    """A problem with the command line or the app's location: printed, exit code 1."""


# ---- discovery (no import)

@dataclass
class Target:
    module: str              # module to import
    attr: Optional[str]      # variable holding the app (None: discover)
    sys_path: str            # directory put first on sys.path
    source: str              # how the module was chosen

    @property
    def import_string(self) -> str:
        return f"{self.module}:{self.attr}" if self.attr else self.module


def module_data_from_path(path: Path) -> Tuple[str, Path]:
    """Module name for a .py file or package dir, and the directory that must be
    on sys.path to import it (the parent of its topmost package), as fastapi-cli."""
    use_path = path.resolve()
    module_path = use_path
    if use_path.is_file() and use_path.stem == "__init__":
        module_path = use_path.parent
    module_paths = [module_path]
    extra = module_path.parent
    for parent in module_path.parents:
        if (parent / "__init__.py").is_file():
            module_paths.insert(0, parent)
            extra = parent.parent
        else:
            break
    return ".".join(p.stem for p in module_paths), extra.resolve()


def _pyproject_entrypoint() -> Optional[str]:
    p = Path.cwd() / "pyproject.toml"
    if not p.is_file():
        return None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return None
    try:
        with open(p, "rb") as f:
            tool = tomllib.load(f).get("tool", {})
    except (OSError, ValueError) as e:
        raise CLIError(f"Invalid configuration in pyproject.toml: {e}") from None
    for section in ("fastrapi", "fastapi"):
        ep = tool.get(section, {}).get("entrypoint")
        if ep is not None:
            if not isinstance(ep, str):
                raise CLIError(f"Invalid configuration in pyproject.toml: "
                               f"tool.{section}.entrypoint must be a string")
            return ep
    return None


def _from_import_string(s: str, app_dir: Optional[str], source: str) -> Target:
    module, _, attr = s.partition(":")
    if not module or not attr:
        raise CLIError("Import string must be in the format module.submodule:app_name")
    return Target(module, attr, str(Path(app_dir or ".").resolve()), source)


def _looks_like_import_string(arg: str) -> bool:
    return ":" in arg and not Path(arg).exists()


def resolve_target(arg: Optional[str], *, app_name: Optional[str] = None,
                   entrypoint: Optional[str] = None, app_dir: Optional[str] = None) -> Target:
    """Where the app is, without importing anything."""
    if entrypoint and (arg or app_name):
        raise CLIError("Cannot use --entrypoint together with path or --app arguments")
    if arg and _looks_like_import_string(arg):
        if app_name:
            raise CLIError("Cannot use --app together with a module:app import string")
        return _from_import_string(arg, app_dir, "import string")
    if entrypoint:
        return _from_import_string(entrypoint, app_dir, "--entrypoint option")
    if not arg and not app_name:
        ep = _pyproject_entrypoint()
        if ep:
            return _from_import_string(ep, app_dir, "entrypoint in pyproject.toml")
    source = "path argument"
    if arg:
        path = Path(arg)
    else:
        found = next((Path(p) for p in DEFAULT_PATHS if Path(p).is_file()), None)
        if found is None:
            raise CLIError("Could not find a default file to run, please provide an explicit path")
        path, source = found, "auto-discovery"
    if not path.exists():
        raise CLIError(f"Path does not exist {path}")
    module, extra = module_data_from_path(path)
    return Target(module, app_name, str(extra), source)


# ---- import

def _is_app(obj: Any) -> bool:
    from .applications import FastrAPI
    return isinstance(obj, FastrAPI)


def _is_real_fastapi(obj: Any) -> bool:
    return any(c.__name__ == "FastAPI" and c.__module__.split(".")[0] == "fastapi"
               for c in type(obj).__mro__)


_REAL_FASTAPI_HINT = (" (found an app of the real FastAPI: the module imported the real "
                      "fastapi; run without --no-compat to serve it on fastrapi)")


@contextlib.contextmanager
def _serve_skipped_on_import(module: str) -> Iterator[None]:
    """A module-level ``app.serve()`` met while the command imports the app would
    block the import and bypass the command's options: skip it, say so."""
    from .applications import FastrAPI
    saved = {k: FastrAPI.__dict__[k] for k in ("serve", "run") if k in FastrAPI.__dict__}

    def skipped(self: Any, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("reload"):
            logger.warning("%s called app.serve() while being imported; skipped (the fastrapi "
                           "command serves the app; put the call under "
                           "`if __name__ == \"__main__\":`)", module)

    FastrAPI.serve = FastrAPI.run = skipped  # type: ignore[method-assign]
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(FastrAPI, k, v)


def _user_traceback(e: BaseException) -> str:
    """The traceback of an import error without the command's and importlib's frames."""
    tb = e.__traceback__
    while tb is not None and (tb.tb_frame.f_code.co_filename == __file__
                              or "importlib" in tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb)).rstrip()


def _import_module(module: str) -> Any:
    try:
        with _serve_skipped_on_import(module):
            return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and (module == e.name or module.startswith(e.name + ".")):
            raise CLIError(f"Could not import module {module!r}: {e}. Ensure all the "
                           f"package directories have an __init__.py file") from None
        raise CLIError(f"Error importing {module!r}:\n{_user_traceback(e)}") from None
    except Exception as e:
        raise CLIError(f"Error importing {module!r}:\n{_user_traceback(e)}") from None


def load_app(target: Target, *, factory: bool = False) -> Tuple[Any, str]:
    """Import the target's module and return (app, variable name)."""
    if target.sys_path not in sys.path:
        sys.path.insert(0, target.sys_path)
    mod = _import_module(target.module)
    names = dir(mod)
    if target.attr:
        if target.attr not in names:
            raise CLIError(f"Could not find app name {target.attr} in {target.module}")
        obj = getattr(mod, target.attr)
        if factory:
            if not callable(obj):
                raise CLIError(f"The app factory {target.attr} in {target.module} is not callable")
            obj = obj()
        if not _is_app(obj):
            extra = _REAL_FASTAPI_HINT if _is_real_fastapi(obj) else ""
            raise CLIError(f"The app name {target.attr} in {target.module} doesn't seem to be "
                           f"a FastAPI app{extra}")
        return obj, target.attr
    for preferred in ("app", "api"):
        if preferred in names and _is_app(getattr(mod, preferred)):
            return getattr(mod, preferred), preferred
    for name in names:
        if _is_app(getattr(mod, name)):
            return getattr(mod, name), name
    if any(_is_real_fastapi(getattr(mod, n)) for n in names):
        raise CLIError(f"Could not find FastAPI app in module {target.module}"
                       + _REAL_FASTAPI_HINT)
    raise CLIError(f"Could not find FastAPI app in module {target.module}, try using --app")


# ---- serving

def _setup_logging(log_level: str) -> str:
    """uvicorn-style ``INFO:     `` lines on the fastrapi loggers; returns the
    level name serve() understands."""
    from .applications import _configure_logging
    level = "debug" if log_level == "trace" else log_level
    _configure_logging()
    logging.getLogger("fastrapi").setLevel(level.upper())
    return level


def _proxy_options(app: Any, serve_kwargs: Dict[str, Any], root_path: Optional[str],
                   proxy: Dict[str, Any]) -> Optional[str]:
    """Pass --root-path/--proxy-headers/--forwarded-allow-ips on where the app or
    server takes them; the text of the one warning for the rest (or None)."""
    accepted = inspect.signature(app.serve).parameters
    unsupported: List[str] = []
    if root_path:
        if "root_path" in accepted:  # the server's root_path, as uvicorn --root-path
            serve_kwargs["root_path"] = root_path
        else:
            app.root_path = root_path
            unsupported.append("--root-path beyond app.root_path (docs and OpenAPI servers use "
                               "it; request.scope['root_path'] and url_for do not)")
    for opt, value in proxy.items():
        if value is None:
            continue
        if opt in accepted:
            serve_kwargs[opt] = value
        elif opt == "proxy_headers" and not value:
            pass  # the native server ignores X-Forwarded-* already
        else:
            unsupported.append("--" + opt.replace("_", "-"))
    if not unsupported:
        return None
    return "The native server does not support yet: " + "; ".join(unsupported)


def serve_target(target: Target, *, serve_kwargs: Dict[str, Any], factory: bool = False,
                 compat: bool = True, root_path: Optional[str] = None,
                 proxy: Optional[Dict[str, Any]] = None, verbose: bool = False) -> int:
    """Import the app and serve it in this process; returns the exit code."""
    if compat:
        from . import compat as import_switch
        import_switch.install()
    if verbose:
        logger.info("Importing from %s (module %s, found by %s)", target.sys_path,
                    target.module, target.source)
    try:
        app, attr = load_app(target, factory=factory)
    except CLIError as e:
        logger.error("%s", e)
        return 1
    target.attr = attr
    logger.info("Using import string: %s%s", target.import_string,
                " (auto-discovered)" if target.source == "auto-discovery" else "")
    kwargs = dict(serve_kwargs)
    warning = _proxy_options(app, kwargs, root_path, proxy or {})
    if warning:
        logger.warning("%s", warning)
    if kwargs.get("workers", 1) <= 1 and app.docs_url:
        host = kwargs.get("host", "127.0.0.1")
        logger.info("Documentation at http://%s:%d%s", "127.0.0.1" if host == "0.0.0.0" else host,
                    kwargs.get("port", 8000), app.docs_url)
    pid = os.getpid()
    single = kwargs.get("workers", 1) <= 1  # else the master and each worker say who they are
    if single:
        logger.info("Started server process [%d]", pid)
    try:
        app.serve(**kwargs)
    except SystemExit as e:  # a worker failed to start (fastrapi._workers)
        return e.code if isinstance(e.code, int) else 1
    if single:
        logger.info("Finished server process [%d]", pid)
    return 0


def serve_import_string(import_string: str, *, serve_kwargs: Dict[str, Any],
                        factory: bool = False, compat: bool = False,
                        root_path: Optional[str] = None, proxy: Optional[Dict[str, Any]] = None,
                        sys_path: Optional[str] = None, source: str = "import string") -> int:
    """The reload child's job: serve ``module[:attr]``."""
    _setup_logging(serve_kwargs.get("log_level", "info"))
    module, _, attr = import_string.partition(":")
    target = Target(module, attr or None, sys_path or os.getcwd(), source)
    return serve_target(target, serve_kwargs=serve_kwargs, factory=factory, compat=compat,
                        root_path=root_path, proxy=proxy)


# ---- the command line

_DESCRIPTION = """\
fastrapi command line: serve a FastAPI (or FastrAPI) app on fastrapi's native
C server. `fastrapi run` is for production (host 0.0.0.0, no reload),
`fastrapi dev` for development (host 127.0.0.1, auto-reload).
`python -m fastrapi ...` is the same command."""

_RUN_EPILOG = """\
APP is a path to a Python file or package directory, or an import string
module.submodule:app. Without it, the entrypoint in pyproject.toml
([tool.fastrapi] or [tool.fastapi] entrypoint = "module:app") is used, else
the first of main.py, app.py, api.py, app/main.py, app/app.py, app/api.py.
The directory above the file's topmost package (one with __init__.py) is put
on sys.path. The app is the variable named by --app, else `app`, else `api`,
else the first FastAPI app found in the module.

Unless --no-compat, `import fastapi` in the app and its plugins gives fastrapi
(see fastrapi.compat), so an unchanged FastAPI app runs on fastrapi."""


def _env_int(name: str, default: int) -> int:
    v = os.environ.get(name)
    try:
        return int(v) if v else default
    except ValueError:
        return default


def _add_serve_options(p: argparse.ArgumentParser, *, dev: bool) -> None:
    p.add_argument("app_arg", nargs="?", metavar="APP",
                   help="path to a .py file or package directory, or module:app")
    p.add_argument("--host", default="127.0.0.1" if dev else "0.0.0.0",
                   help="bind socket to this host (default: %(default)s)")
    p.add_argument("--port", type=int, default=_env_int("PORT", 8000),
                   help="bind socket to this port; env PORT (default: %(default)s)")
    p.add_argument("--reload", action=argparse.BooleanOptionalAction, default=dev,
                   help="restart the server when .py files change (default: %s)"
                   % ("on" if dev else "off"))
    p.add_argument("--reload-dir", action="append", dest="reload_dirs", metavar="DIR",
                   help="watch this directory (repeatable; default: the directory the "
                        "app is imported from)")
    if not dev:
        p.add_argument("--workers", type=int, default=None, metavar="N",
                       help="number of worker processes; env WEB_CONCURRENCY "
                            "(default: 1; not with --reload)")
    p.add_argument("--threads", type=int, default=0, metavar="N",
                   help="engine I/O threads per process (default: CPU count, 1 per worker)")
    p.add_argument("--root-path", default="", metavar="PATH",
                   help="path prefix the app is served under behind a proxy that strips "
                        "it (ASGI root_path)")
    p.add_argument("--proxy-headers", action=argparse.BooleanOptionalAction, default=None,
                   help="trust X-Forwarded-For/Proto from --forwarded-allow-ips to set the "
                        "client address and scheme (default: on)")
    p.add_argument("--forwarded-allow-ips", default=None, metavar="IPS",
                   help="comma-separated IPs or networks trusted with proxy headers, '*' for "
                        "all; env FORWARDED_ALLOW_IPS (default: 127.0.0.1)")
    p.add_argument("--ssl-certfile", default=None, metavar="FILE",
                   help="serve HTTPS with this PEM certificate (chain); SIGHUP reloads it")
    p.add_argument("--ssl-keyfile", default=None, metavar="FILE",
                   help="the certificate's PEM private key (default: in --ssl-certfile)")
    p.add_argument("--ssl-keyfile-password", default=None, metavar="TEXT",
                   help="the passphrase of an encrypted --ssl-keyfile")
    p.add_argument("--ssl-cert-reqs", type=int, default=0, metavar="INT",
                   help="client certificates: 0 none, 1 optional, 2 required (Python's "
                        "ssl.CERT_*; default: 0); 1 and 2 need --ssl-ca-certs")
    p.add_argument("--ssl-ca-certs", default=None, metavar="FILE",
                   help="PEM CA bundle that client certificates are verified against")
    p.add_argument("--ssl-ciphers", default=None, metavar="TEXT",
                   help="OpenSSL cipher list for TLS 1.2 (default: OpenSSL's)")
    p.add_argument("--ssl-version", type=int, default=17, metavar="INT",
                   help="Python's ssl.PROTOCOL_* as uvicorn's: 17 (default) or 2 TLS 1.2 "
                        "and 1.3, 5 TLS 1.2 only, 3 / 4 TLS 1.0 / 1.1 only")
    p.add_argument("--timeout-keep-alive", type=float, default=None, metavar="SECONDS",
                   help="close a keep-alive connection idle this long (default: 5)")
    p.add_argument("--timeout-header", type=float, default=None, metavar="SECONDS",
                   help="answer 408 to a request head not received within this "
                        "(default: 10)")
    p.add_argument("--timeout-body", type=float, default=None, metavar="SECONDS",
                   help="answer 408 to a request body, or close a response write, stalled "
                        "this long (default: 30)")
    p.add_argument("--timeout-graceful-shutdown", type=float, default=None, metavar="SECONDS",
                   help="on SIGTERM/SIGINT, wait this long for in-flight requests "
                        "(default: 10)")
    p.add_argument("--limit-concurrency", type=int, default=None, metavar="N",
                   help="most open connections per process; a connection above it is "
                        "answered 503 (default: 10000)")
    p.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                   help="log level (default: %(default)s)")
    p.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True,
                   help="log one line per request (default: on)")
    p.add_argument("--app", dest="app_name", metavar="NAME",
                   help="name of the variable holding the app (default: detected)")
    p.add_argument("-e", "--entrypoint", metavar="MODULE:APP",
                   help="import string of the app, e.g. some.module:app")
    p.add_argument("--app-dir", metavar="DIR",
                   help="directory put on sys.path for a module:app import string "
                        "(default: the current directory)")
    p.add_argument("--factory", action="store_true",
                   help="the named attribute is a () -> app factory")
    p.add_argument("--compat", action=argparse.BooleanOptionalAction, default=True,
                   help="make `import fastapi` give fastrapi (default: on)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show how the app was discovered")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="fastrapi", description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"fastrapi {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, dev, summary in (
            ("run", False, "run an app in production mode (0.0.0.0, no reload)"),
            ("dev", True, "run an app in development mode (127.0.0.1, auto-reload)")):
        p = sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                           epilog=_RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_serve_options(p, dev=dev)
    p = sub.add_parser(
        "build-native", help="compile a native module (C routes, fastrapi.native)",
        description="Compile C handler files into a native module the running engine loads "
                    "(app.add_native_route): cc -shared -fPIC -O2 -I<fastrapi.get_include()> "
                    "SOURCES... -o OUTPUT. The command is printed first. Arguments after -- "
                    "go to the compiler (e.g. -- -lm).")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="C files (compiler flags go after --)")
    p.add_argument("-o", "--output", help="the library (default: the first source with .so)")
    p.add_argument("--cc", help="compiler command (default: $CC, else cc)")
    return parser


def _command(args: argparse.Namespace) -> int:
    level = _setup_logging(args.log_level)
    logger.info("Starting fastrapi in %s mode",
                "development" if args.command == "dev" else "production")
    try:
        target = resolve_target(args.app_arg, app_name=args.app_name,
                                entrypoint=args.entrypoint, app_dir=args.app_dir)
    except CLIError as e:
        logger.error("%s", e)
        return 1
    workers = getattr(args, "workers", None)
    if workers is None:
        workers = _env_int("WEB_CONCURRENCY", 1)
    if args.reload and workers > 1:
        logger.warning('"workers" flag is ignored when reloading is enabled.')
        workers = 1
    if args.reload_dirs and not args.reload:
        logger.warning("--reload-dir has no effect without --reload")
    serve_kwargs: Dict[str, Any] = {
        "host": args.host, "port": args.port, "workers": max(1, workers),
        "access_log": args.access_log, "log_level": level, "threads": args.threads}
    for opt in ("timeout_keep_alive", "timeout_header", "timeout_body",
                "timeout_graceful_shutdown", "limit_concurrency"):
        if getattr(args, opt) is not None:  # else serve()'s default (the engine's)
            serve_kwargs[opt] = getattr(args, opt)
    proxy = {"proxy_headers": args.proxy_headers, "forwarded_allow_ips": args.forwarded_allow_ips}
    if args.ssl_keyfile and not args.ssl_certfile:
        logger.error("--ssl-keyfile needs --ssl-certfile")
        return 1
    if not args.ssl_certfile and (args.ssl_keyfile_password or args.ssl_ca_certs or args.ssl_cert_reqs
                                  or args.ssl_ciphers or args.ssl_version != 17):
        logger.error("the --ssl-* options need --ssl-certfile")
        return 1
    if args.ssl_cert_reqs not in (0, 1, 2) or (args.ssl_cert_reqs and not args.ssl_ca_certs):
        logger.error("--ssl-cert-reqs is 0, 1 or 2, and 1 or 2 needs --ssl-ca-certs")
        return 1
    from .applications import _SSL_VERSIONS
    if args.ssl_version not in _SSL_VERSIONS:
        logger.error("--ssl-version is Python's ssl.PROTOCOL_TLS_SERVER (17), PROTOCOL_TLS (2), "
                     "PROTOCOL_TLSv1_2 (5), PROTOCOL_TLSv1_1 (4) or PROTOCOL_TLSv1 (3)")
        return 1
    if args.ssl_certfile:  # HTTPS, as uvicorn's --ssl-* options
        for opt in ("ssl_certfile", "ssl_keyfile", "ssl_keyfile_password", "ssl_ca_certs",
                    "ssl_cert_reqs", "ssl_ciphers", "ssl_version"):
            serve_kwargs[opt] = getattr(args, opt)
    if not args.reload:
        return serve_target(target, serve_kwargs=serve_kwargs, factory=args.factory,
                            compat=args.compat, root_path=args.root_path or None, proxy=proxy,
                            verbose=args.verbose)
    from ._reload import StatReload
    if args.verbose:
        logger.info("Importing from %s (module %s, found by %s)", target.sys_path,
                    target.module, target.source)
    child = {"import_string": target.import_string, "sys_path": [target.sys_path],
             "source": target.source, "serve": serve_kwargs, "factory": args.factory,
             "compat": args.compat, "root_path": args.root_path or None, "proxy": proxy}
    dirs = args.reload_dirs or [target.sys_path]
    for d in dirs:
        if not Path(d).is_dir():
            logger.error("--reload-dir %s is not a directory", d)
            return 1
    return StatReload(child, dirs, bind=(args.host, args.port)).run()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    cc_args: List[str] = []  # build-native: what follows -- goes to the compiler
    if argv[:1] == ["build-native"] and "--" in argv:
        cc_args, argv = argv[argv.index("--") + 1:], argv[:argv.index("--")]
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    if args.command == "build-native":
        from .native import build_main
        return build_main(args.sources, args.output, args.cc, cc_args)
    try:
        return _command(args)
    except KeyboardInterrupt:
        return 0


def console_main() -> None:
    """The ``fastrapi`` console script."""
    sys.exit(main())
