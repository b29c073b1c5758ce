from typing import Dict, List, Set, Union

from pydantic import BaseModel, HttpUrl


def make_app(fw):
    app = fw.FastAPI()

    class Image(BaseModel):
        url: HttpUrl
        name: str

    class Item(BaseModel):
        name: str
        tags: Set[str] = set()
        images: Union[List[Image], None] = None

    class Offer(BaseModel):
        name: str
        items: List[Item]

    @app.post("/offers/")
    def create_offer(offer: Offer):
        return offer

    @app.post("/images/multiple/")
    def create_images(images: List[Image]):
        return images

    @app.post("/index-weights/")
    def create_index_weights(weights: Dict[int, float]):
        return weights

    return app
