from starlette.middleware.trustedhost import TrustedHostMiddleware as TrustedHostMiddleware  # noqa: F401 (FastAPI re-exports it)
