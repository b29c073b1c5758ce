from starlette.middleware.gzip import GZipMiddleware as GZipMiddleware  # noqa: F401 (FastAPI re-exports it)
