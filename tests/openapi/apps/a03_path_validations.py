from typing import Annotated


def make_app(fw):
    app = fw.FastAPI()

    @app.get("/items/{item_id}")
    def get_item(
        item_id: Annotated[int, fw.Path(title="The ID", ge=1, le=1000, description="id")],
        size: Annotated[float, fw.Query(gt=0, lt=10.5)] = 1,
    ):
        return {"item_id": item_id}

    @app.get("/codes/{code}")
    def get_code(code: str = fw.Path(min_length=3, max_length=8, pattern="^[a-z]+$")):
        return {"code": code}

    return app
