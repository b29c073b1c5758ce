from typing import List, Optional

from pydantic import BaseModel, computed_field


def make_app(fw):
    app = fw.FastAPI()

    class Item(BaseModel):
        name: str
        description: Optional[str] = None

    class Rect(BaseModel):
        w: int
        h: int

        @computed_field
        @property
        def area(self) -> int:
            return self.w * self.h

    @app.post("/items/")
    def create_item(item: Item) -> Item:
        return item

    @app.get("/items/")
    def read_items() -> List[Item]:
        return []

    @app.post("/rects/")
    def rect(r: Rect) -> Rect:
        return r

    return app
