from typing import Annotated, Optional


def make_app(fw):
    app = fw.FastAPI()
    header_key = fw.security.APIKeyHeader(name="X-API-Key", description="key in header")
    query_key = fw.security.APIKeyQuery(name="api_key", auto_error=False)
    cookie_key = fw.security.APIKeyCookie(name="session", scheme_name="cookieAuth")

    @app.get("/header")
    def read_header(key: Annotated[str, fw.Depends(header_key)]):
        return {"key": key}

    @app.get("/query")
    def read_query(key: Annotated[Optional[str], fw.Depends(query_key)]):
        return {"key": key}

    @app.get("/cookie")
    def read_cookie(key: Annotated[str, fw.Security(cookie_key)], q: int = 0):
        return {"key": key}

    return app
