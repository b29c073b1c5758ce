from typing import Annotated, Union

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class Item(BaseModel):
        name: str
        price: float

    @app.put("/items/{item_id}")
    def update_item(item_id: int, item: Annotated[Item, fw.Body(examples=[
            {"name": "Foo", "price": 35.4}, {"name": "Bar", "price": "35.4"}])]):
        return {"item_id": item_id}

    @app.put("/openapi-examples/{item_id}")
    def update_item2(item_id: int, item: Annotated[Item, fw.Body(openapi_examples={
            "normal": {"summary": "A normal example", "value": {"name": "Foo", "price": 35.4}},
            "invalid": {"summary": "Invalid data", "value": {"name": "Baz", "price": "x"}},
    })]):
        return {"item_id": item_id}

    @app.post("/single-example")
    def single(name: Annotated[Union[str, None], fw.Body(embed=True, example="x")] = None):
        return {}

    return app
