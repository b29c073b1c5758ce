"""The FastAPI import switch: ``import fastrapi.compat`` and every later
``import fastapi`` / ``import fastapi.X`` gives ``fastrapi`` / ``fastrapi.X``.

    import fastrapi.compat          # first, before anything imports fastapi
    import fastapi                  # -> the fastrapi module itself
    from fastapi.responses import JSONResponse   # fastrapi.responses.JSONResponse
    import slowapi                  # a plugin's own `import fastapi` too

``fastrapi run`` / ``fastrapi dev`` install it before importing the app
(``--no-compat`` turns it off). The aliases are the same module objects
(``fastapi is fastrapi``), so a plugin's ``isinstance(app, fastapi.FastAPI)``
sees fastrapi's class. A ``fastapi.X`` that fastrapi has no ``fastrapi.X``
for raises ``ModuleNotFoundError`` naming the missing fastrapi module.

When the real FastAPI was already imported, install() warns once: code that
imported it keeps the real objects (two frameworks in one process); later
imports get fastrapi. ``uninstall()`` undoes the switch (tests)."""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import Dict, Optional, Sequence

__all__ = ["install", "uninstall", "installed", "FastAPIAlreadyImportedWarning"]

_ALIAS = "fastapi"
_TARGET = "fastrapi"


class FastAPIAlreadyImportedWarning(RuntimeWarning):
    """The real ``fastapi`` was imported before the switch was installed."""


def _target_name(fullname: str) -> Optional[str]:
    if fullname == _ALIAS:
        return _TARGET
    if fullname.startswith(_ALIAS + "."):
        return _TARGET + fullname[len(_ALIAS):]
    return None


class _FastAPIFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``fastapi[.X]`` and loads it as the already-imported ``fastrapi[.X]``."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        name = _target_name(fullname)
        if name is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        name = _target_name(spec.name)
        assert name is not None
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:  # something the fastrapi module imports is missing
                raise
            raise ModuleNotFoundError(
                f"No module named {spec.name!r}: fastrapi.compat maps it to {name!r}, "
                f"which fastrapi does not have", name=spec.name) from None
        # the import system overwrites __spec__ of what create_module returns;
        # exec_module puts the real one back (importlib.reload(fastrapi) keeps working)
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        if spec is not None and spec.loader is self and spec.loader_state is not None:
            module.__spec__ = spec.loader_state


_finder: Optional[_FastAPIFinder] = None
_displaced: Dict[str, ModuleType] = {}
_warned = False


def installed() -> bool:
    return _finder is not None and _finder in sys.meta_path


def _is_alias(name: str) -> bool:
    return name == _ALIAS or name.startswith(_ALIAS + ".")


def install() -> None:
    """Make later ``import fastapi[.X]`` resolve to ``fastrapi[.X]`` (idempotent)."""
    global _finder, _warned
    if installed():
        return
    real = [n for n, m in sys.modules.items()
            if _is_alias(n) and m is not None and not getattr(m, "__name__", "").startswith(_TARGET)]
    if real:
        if not _warned:
            _warned = True
            warnings.warn(
                "fastrapi.compat: the real 'fastapi' package was imported before the switch "
                "was installed; code that already imported it keeps FastAPI's objects (two "
                "frameworks in one process). Import fastrapi.compat (or use `fastrapi run`) "
                "before anything imports fastapi.",
                FastAPIAlreadyImportedWarning, stacklevel=3)
        for n in real:  # later imports get fastrapi; the old objects stay alive where used
            _displaced[n] = sys.modules.pop(n)
    _finder = _FastAPIFinder()
    sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Remove the switch and the ``fastapi`` aliases; put back a displaced real FastAPI."""
    global _finder
    if _finder is not None:
        try:
            sys.meta_path.remove(_finder)
        except ValueError:
            pass
        _finder = None
    for n in [n for n in sys.modules if _is_alias(n)]:
        m = sys.modules[n]
        if m is None or getattr(m, "__name__", "").startswith(_TARGET):
            del sys.modules[n]
    sys.modules.update(_displaced)
    _displaced.clear()


install()
