from typing import Annotated, Union

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class Item(BaseModel):
        name: str
        price: float

    class User(BaseModel):
        username: str
        full_name: Union[str, None] = None

    @app.put("/items/{item_id}")
    def update_item(item_id: int, item: Item, user: User,
                    importance: Annotated[int, fw.Body(gt=0)]):
        return {"item_id": item_id}

    @app.put("/embed/{item_id}")
    def embed(item_id: int, item: Annotated[Item, fw.Body(embed=True)]):
        return {"item_id": item_id}

    @app.post("/optional-body")
    def optional_body(item: Union[Item, None] = None):
        return item

    return app
