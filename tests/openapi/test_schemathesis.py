"""schemathesis (PyPI) against a live app built from the corpus.

Bounded: few examples per operation, deterministic generation, a request
timeout and an overall subprocess timeout. The check set is everything
schemathesis offers except the checks FastAPI itself fails by design
(undocumented 400 for an unparsable body -> status_code_conformance; the
405 ``Allow`` header listing only one route's methods ->
allow_header_conformance, unsupported_method; pydantic's lax mode accepting
``false`` for a float -> negative_data_rejection). The FastAPI run is the
reference proving the check set is achievable; fastrapi must pass the same.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from .corpus import fastrapi_fw
from .liveserver import live_app

SCHEMATHESIS = shutil.which("schemathesis") or shutil.which("st")
CHECKS = ",".join([
    "not_a_server_error", "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance", "positive_data_acceptance",
    "missing_required_header", "use_after_free", "ensure_resource_availability",
])
APPS = ["a50_store", "a02_path_params", "a04_query_params"]


def run_schemathesis(base: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCHEMATHESIS, "run", base + "/openapi.json", "--checks", CHECKS,
         "--max-examples", "10", "--generation-deterministic", "--request-timeout", "5",
         "--no-color"],
        capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("app_name", APPS)
@pytest.mark.parametrize("fw_name", ["fastapi", "fastrapi"])
def test_schemathesis_finds_no_failures(fw_name, app_name):
    assert SCHEMATHESIS is not None, "schemathesis missing: it is a [test] extra (pip install -e '.[test]')"
    if fw_name == "fastrapi":
        fastrapi_fw()
    with live_app(fw_name, app_name) as base:
        out = run_schemathesis(base)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "Tested:" in out.stdout
