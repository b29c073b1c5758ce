from typing import List, Optional

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI(separate_input_output_schemas=False)

    class Item(BaseModel):
        name: str
        description: Optional[str] = None

    @app.post("/items/")
    def create_item(item: Item) -> Item:
        return item

    @app.get("/items/")
    def read_items() -> List[Item]:
        return []

    return app
