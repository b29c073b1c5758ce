"""OpenAPI 3.1 document generation and the interactive docs pages.

Everything here runs at decoration time / first request only: the schema is
built once, cached by the application and served as bytes afterwards.
"""
