from typing import Dict, List, Optional, Tuple, Union

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class A(BaseModel):
        a: int

    class B(BaseModel):
        b: str

    class Box(BaseModel):
        content: Union[A, B, None] = None
        many: List[Union[A, B]] = []
        mapping: Dict[str, Optional[A]] = {}
        pair: Tuple[int, str] = (1, "x")
        either: Union[int, str] = 0

    @app.post("/boxes/")
    def create_box(box: Box, extra: Optional[A] = None) -> Optional[Box]:
        return box

    return app
