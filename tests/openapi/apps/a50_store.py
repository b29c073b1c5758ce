"""A small consistent API (handlers return data matching their declared
response models) — the schemathesis target, and part of the corpus."""
from enum import Enum
from typing import Annotated, Dict, List, Optional

from pydantic import BaseModel, Field


def make_app(fw):
    app = fw.FastAPI(title="Store", version="1.0.0")

    class Category(str, Enum):
        tools = "tools"
        toys = "toys"

    class ItemIn(BaseModel):
        name: str = Field(min_length=1, max_length=50)
        price: float = Field(ge=0, le=1_000_000)
        category: Category = Category.tools
        tags: List[str] = Field(default=[], max_length=5)

    class ItemOut(BaseModel):
        id: int
        name: str
        price: float
        category: Category
        tags: List[str]

    class Message(BaseModel):
        detail: str

    items: Dict[int, dict] = {}
    counter = {"next": 1}

    @app.get("/items/", response_model=List[ItemOut], tags=["items"])
    def list_items(limit: Annotated[int, fw.Query(ge=1, le=100)] = 10,
                   category: Optional[Category] = None):
        values = [v for v in items.values() if category is None or v["category"] == category]
        return values[:limit]

    @app.post("/items/", response_model=ItemOut, status_code=201, tags=["items"])
    def create_item(item: ItemIn):
        if len(items) >= 1000:
            items.clear()
        item_id = counter["next"]
        counter["next"] += 1
        items[item_id] = {"id": item_id, **item.model_dump()}
        return items[item_id]

    @app.get("/items/{item_id}", response_model=ItemOut, tags=["items"],
             responses={404: {"model": Message}})
    def get_item(item_id: Annotated[int, fw.Path(ge=1, le=2**31)]):
        if item_id not in items:
            raise fw.HTTPException(status_code=404, detail="Item not found")
        return items[item_id]

    @app.get("/echo/{word}", tags=["misc"])
    def echo(word: Annotated[str, fw.Path(max_length=20)],
             times: Annotated[int, fw.Query(ge=0, le=3)] = 1,
             x_lang: Annotated[Optional[str], fw.Header(max_length=10)] = None) -> Dict[str, str]:
        return {"word": word * times, "lang": x_lang or ""}

    @app.get("/categories/{category}", tags=["misc"])
    def by_category(category: Category) -> Message:
        return Message(detail=category.value)

    return app
