from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware as HTTPSRedirectMiddleware  # noqa: F401 (FastAPI re-exports it)
