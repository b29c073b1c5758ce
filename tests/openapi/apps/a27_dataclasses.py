from dataclasses import dataclass, field
from typing import List, Optional


def make_app(fw):
    app = fw.FastAPI()

    @dataclass
    class Item:
        name: str
        price: float
        tags: List[str] = field(default_factory=list)
        description: Optional[str] = None

    @app.post("/items/")
    def create_item(item: Item) -> Item:
        return item

    @app.get("/items/", response_model=List[Item])
    def list_items():
        return []

    return app
