from typing import Annotated


def make_app(fw):
    def verify_token(x_token: Annotated[str, fw.Header()]):
        return x_token

    def verify_key(x_key: Annotated[str, fw.Header()] = "k"):
        return x_key

    def yield_dep(trace: Annotated[str, fw.Query()] = "t"):
        yield trace

    app = fw.FastAPI()

    @app.get("/items/", dependencies=[fw.Depends(verify_token), fw.Depends(verify_key)])
    def read_items():
        return []

    @app.get("/yield/")
    def read_yield(t: Annotated[str, fw.Depends(yield_dep)]):
        return t

    return app
