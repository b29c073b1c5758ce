import os
import sys
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def framework(name):
    """A namespace with the FastAPI-style names from either framework."""
    if name == "fastapi":
        import fastapi as m
        import fastapi.responses as responses
    else:
        import fastrapi as m
        import fastrapi.responses as responses
    ns = types.SimpleNamespace(**{k: getattr(m, k) for k in dir(m) if not k.startswith("_")})
    ns.responses = responses
    ns.name = name
    return ns


@pytest.fixture(scope="session")
def fr():
    return framework("fastrapi")


@pytest.fixture(scope="session")
def fa():
    return framework("fastapi")
