from typing import Union

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class Item(BaseModel):
        id: str
        value: str

    class Message(BaseModel):
        message: str

    @app.get("/items/{item_id}", response_model=Item, responses={
        404: {"model": Message, "description": "The item was not found"},
        200: {"description": "Item requested by ID",
              "content": {"application/json": {"example": {"id": "bar", "value": "x"}}}},
        "5XX": {"description": "Server trouble"},
        "default": {"model": Message},
        302: {"description": "Moved", "headers": {"Location": {"schema": {"type": "string"}}}},
    })
    def read_item(item_id: str):
        return {}

    @app.get("/image/{item_id}", response_model=Item, responses={
        200: {"content": {"image/png": {}}, "description": "Return the JSON item or an image."},
        499: {},
    })
    def read_image(item_id: str, img: Union[bool, None] = None):
        return {}

    return app
