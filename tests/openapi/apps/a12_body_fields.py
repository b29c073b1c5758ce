from typing import Union

from pydantic import BaseModel, Field


def make_app(fw):
    app = fw.FastAPI()

    class Item(BaseModel):
        name: str = Field(examples=["Foo"])
        description: Union[str, None] = Field(
            default=None, title="The description of the item", max_length=300)
        price: float = Field(gt=0, description="The price must be greater than zero")
        tax: Union[float, None] = Field(default=None, ge=0, multiple_of=0.5)
        code: str = Field(default="X", alias="itemCode")

        model_config = {"json_schema_extra": {"examples": [
            {"name": "Foo", "price": 35.4}]}}

    @app.put("/items/{item_id}")
    def update_item(item_id: int, item: Item):
        return {"item_id": item_id}

    return app
