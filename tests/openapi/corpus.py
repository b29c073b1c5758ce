"""Helpers shared by the OpenAPI tests: the app corpus and both frameworks."""
from __future__ import annotations

import importlib
import json
import pkgutil
import warnings
from pathlib import Path
from typing import Any, List


APPS_DIR = Path(__file__).parent / "apps"


def corpus_names() -> List[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(APPS_DIR)]) if m.name.startswith("a"))


def load(name: str) -> Any:
    return importlib.import_module(f"tests.openapi.apps.{name}")


def fastapi_fw() -> Any:
    import fastapi
    import fastapi.responses  # noqa: F401  (reached as fw.responses)
    import fastapi.security  # noqa: F401  (reached as fw.security)

    return fastapi


def fastrapi_fw() -> Any:
    """The fastrapi package (an import error fails the test: the suite's
    install step builds it)."""
    import fastrapi
    import fastrapi.responses  # noqa: F401
    import fastrapi.security  # noqa: F401
    return fastrapi


def build(fw: Any, name: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return load(name).make_app(fw)


def normalise(doc: Any) -> str:
    """The JSON normalisation the differential tests compare: sorted keys,
    no insignificant whitespace."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
