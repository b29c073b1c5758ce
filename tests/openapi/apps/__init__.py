"""Corpus of application sources for the OpenAPI differential tests.

Each module defines ``make_app(fw)``: ``fw`` is the framework module
(``fastapi`` or ``fastrapi``) and every framework name is reached through it
(``fw.FastAPI``, ``fw.Query``, ``fw.security.HTTPBearer``...), so the same
source builds both applications.
"""
