from enum import Enum, IntEnum
from typing import List, Optional

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class Color(str, Enum):
        """Available colours."""
        red = "red"
        green = "green"

    class Size(IntEnum):
        s = 1
        m = 2

    class Shirt(BaseModel):
        color: Color
        size: Size = Size.m
        alt_colors: List[Color] = []
        maybe: Optional[Color] = None

    @app.post("/shirts/")
    def create(shirt: Shirt, color: Color = Color.red) -> Shirt:
        return shirt

    return app
