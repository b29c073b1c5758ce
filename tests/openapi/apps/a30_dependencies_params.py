from typing import Annotated, Optional, Union


def make_app(fw):
    app = fw.FastAPI()

    def common_parameters(q: Union[str, None] = None, skip: int = 0, limit: int = 100):
        return {"q": q, "skip": skip, "limit": limit}

    class CommonQueryParams:
        def __init__(self, q: Union[str, None] = None, skip: int = 0, limit: int = 100):
            self.q = q

    def query_extractor(q: Union[str, None] = None):
        return q

    def query_or_cookie_extractor(
        q: Annotated[str, fw.Depends(query_extractor)],
        last_query: Annotated[Union[str, None], fw.Cookie()] = None,
    ):
        return q or last_query

    CommonsDep = Annotated[dict, fw.Depends(common_parameters)]

    @app.get("/items/")
    def read_items(commons: CommonsDep):
        return commons

    @app.get("/users/")
    def read_users(commons: Annotated[CommonQueryParams, fw.Depends()]):
        return {}

    @app.get("/sub/")
    def read_sub(query_or_default: Annotated[str, fw.Depends(query_or_cookie_extractor)],
                 again: Annotated[Optional[str], fw.Depends(query_extractor)] = None):
        return {}

    return app
