from typing import Optional, Union

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class Item(BaseModel):
        name: str
        description: Union[str, None] = None
        price: float
        tax: Optional[float] = None

    @app.post("/items/")
    def create_item(item: Item):
        return item

    @app.put("/items/{item_id}")
    def update_item(item_id: int, item: Item, q: Union[str, None] = None):
        return {"item_id": item_id}

    return app
