from typing import Optional

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class Patch(BaseModel):
        name: Optional[str] = None

    @app.get("/things/{tid}")
    def get_thing(tid: int):
        return {}

    @app.patch("/things/{tid}")
    def patch_thing(tid: int, patch: Patch):
        return {}

    @app.delete("/things/{tid}")
    def delete_thing(tid: int):
        return {}

    @app.head("/things/{tid}")
    def head_thing(tid: int):
        return None

    @app.options("/things/{tid}")
    def options_thing(tid: int):
        return {}

    @app.trace("/things/{tid}")
    def trace_thing(tid: int):
        return {}

    @app.get("/get-with-body")
    def get_with_body(body: Patch):
        return {}

    return app
