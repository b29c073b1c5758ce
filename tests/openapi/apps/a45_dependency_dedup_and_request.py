from typing import Annotated


def make_app(fw):
    app = fw.FastAPI()

    def shared(token: Annotated[str, fw.Query()], request: fw.Request):
        return token

    def a(s: Annotated[str, fw.Depends(shared)]):
        return s

    def b(s: Annotated[str, fw.Depends(shared)], x_req: Annotated[str, fw.Header()] = "r"):
        return s

    @app.get("/dedup")
    def dedup(a_val: Annotated[str, fw.Depends(a)], b_val: Annotated[str, fw.Depends(b)],
              response: fw.Response, background: fw.BackgroundTasks):
        return {}

    @app.get("/nocache")
    def nocache(x: Annotated[str, fw.Depends(shared, use_cache=False)],
                y: Annotated[str, fw.Depends(shared)]):
        return {}

    @app.get("/required-wins")
    def required_wins(token: Annotated[str, fw.Query()] = "opt",
                      s: Annotated[str, fw.Depends(shared)] = ""):
        return {}

    return app
