import decimal
from typing import List, Optional

from pydantic import BaseModel, Field


def make_app(fw):
    app = fw.FastAPI()

    class Price(BaseModel):
        amount: decimal.Decimal
        currency: str = "EUR"

    class Product(BaseModel):
        name: str
        price: Price
        history: List[Price] = Field(default_factory=list)
        note: Optional[str] = Field(default=None, exclude=True)

    @app.post("/products/")
    def create(product: Product) -> Product:
        return product

    @app.get("/products/", response_model=List[Product])
    def list_products():
        return []

    return app
