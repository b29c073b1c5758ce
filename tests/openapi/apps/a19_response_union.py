from typing import Dict, List, Literal, Union

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class BaseItem(BaseModel):
        description: str
        type: str

    class CarItem(BaseItem):
        type: Literal["car"] = "car"

    class PlaneItem(BaseItem):
        type: Literal["plane"] = "plane"
        size: int

    @app.get("/items/{item_id}", response_model=Union[PlaneItem, CarItem])
    def read_item(item_id: str):
        return {}

    @app.get("/keyword-weights/", response_model=Dict[str, float])
    def read_keyword_weights():
        return {"foo": 2.3}

    @app.get("/strings", response_model=List[str])
    def strings():
        return []

    return app
