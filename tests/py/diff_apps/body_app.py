"""Bodies: models, embedding, scalars, forms, malformed JSON."""
from typing import Dict, List, Optional

from pydantic import BaseModel, Field


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)
    tags: List[str] = []
    description: Optional[str] = None


class User(BaseModel):
    username: str
    full_name: Optional[str] = None


def make_app(fw):
    app = fw.FastAPI()
    Body, Form = fw.Body, fw.Form

    @app.post("/item")
    def item(item: Item):
        return item

    @app.post("/item_opt")
    def item_opt(item: Optional[Item] = None):
        return {"item": item}

    @app.put("/items/{item_id}")
    def update(item_id: int, item: Item, user: User, importance: int = Body()):
        return {"item_id": item_id, "item": item, "user": user, "importance": importance}

    @app.post("/embed")
    def embed(item: Item = Body(embed=True)):
        return item

    @app.post("/scalar")
    def scalar(v: int = Body()):
        return {"v": v}

    @app.post("/dict")
    def dct(d: Dict[str, int]):
        return d

    @app.post("/list")
    def lst(xs: List[Item]):
        return xs

    @app.post("/any")
    def anyb(payload: dict = Body()):
        return payload

    @app.post("/form")
    def form(username: str = Form(), password: str = Form(), n: int = Form(1)):
        return {"u": username, "p": password, "n": n}

    return app


CASES = [
    ("POST", "/item", {"json": {"name": "a", "price": 1.5}}),
    ("POST", "/item", {"json": {"name": "a", "price": 1.5, "tags": ["x", "é"], "description": "d"}}),
    ("POST", "/item", {"json": {"name": "a", "price": 0}}),
    ("POST", "/item", {"json": {"name": "a"}}),
    ("POST", "/item", {"json": {"price": "x"}}),
    ("POST", "/item", {"json": []}),
    ("POST", "/item", {"json": None}),
    ("POST", "/item", {"json": "str"}),
    ("POST", "/item", {}),
    ("POST", "/item", {"content": b"{bad json", "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"content": b'{"name": "a", "price": 1,}', "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"content": b'{"name": "a", "price": NaN}', "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"content": b'{"name": "a", "price": 2}', "headers": {"content-type": "text/plain"}}),
    ("POST", "/item", {"content": b'{"name": "a", "price": 2}', "headers": {"content-type": "application/vnd.api+json"}}),
    ("POST", "/item", {"content": b'{"name": "a", "price": 2}'}),
    ("POST", "/item", {"content": b'\xff\xfe', "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"content": b'{"name": "\\ud800", "price": 2}', "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"content": b'  {"name": "x", "price": 2}  ', "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"content": b'{"name": "x", "price": 2} x', "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"json": {"name": "a", "price": 12345678901234567890123}}),
    ("POST", "/item_opt", {}), ("POST", "/item_opt", {"json": {"name": "a", "price": 3}}),
    ("PUT", "/items/3", {"json": {"item": {"name": "a", "price": 2}, "user": {"username": "u"}, "importance": 5}}),
    ("PUT", "/items/3", {"json": {"item": {"name": "a", "price": 2}}}),
    ("PUT", "/items/3", {"json": [1, 2]}),
    ("PUT", "/items/x", {"json": {}}),
    ("POST", "/embed", {"json": {"item": {"name": "a", "price": 2}}}),
    ("POST", "/embed", {"json": {"name": "a", "price": 2}}),
    ("POST", "/scalar", {"json": 5}), ("POST", "/scalar", {"json": "5"}), ("POST", "/scalar", {"json": "x"}),
    ("POST", "/scalar", {}),
    ("POST", "/dict", {"json": {"a": 1, "b": 2}}), ("POST", "/dict", {"json": {"a": "x"}}),
    ("POST", "/list", {"json": [{"name": "a", "price": 1}, {"name": "b"}]}),
    ("POST", "/any", {"json": {"k": [1, 2.5, None, True, "s", {"n": {}}]}}),
    ("POST", "/any", {"json": {"big": 123456789012345678901234567890, "f": 1e300, "neg": -0.0}}),
    ("POST", "/form", {"data": {"username": "u", "password": "p"}}),
    ("POST", "/form", {"data": {"username": "u", "password": "p", "n": "x"}}),
    ("POST", "/form", {"data": {"username": "u"}}),
    ("POST", "/form", {"data": {"username": "", "password": "p"}}),
    ("POST", "/form", {}),
]
