from starlette.middleware.sessions import SessionMiddleware as SessionMiddleware  # noqa: F401 (run by the engine in C, see fastrapi/_native_mw.py)
