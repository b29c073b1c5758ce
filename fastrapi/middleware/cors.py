from starlette.middleware.cors import CORSMiddleware as CORSMiddleware  # noqa: F401 (FastAPI re-exports it)
