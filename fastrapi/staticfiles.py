from starlette.staticfiles import StaticFiles as StaticFiles  # noqa: F401
