from typing import Dict, FrozenSet, List, Optional, Sequence, Set

from pydantic import BaseModel, conint, constr


def make_app(fw):
    app = fw.FastAPI()

    class Leaf(BaseModel):
        v: conint(ge=0, le=9)
        s: constr(min_length=1, max_length=4) = "a"

    class Container(BaseModel):
        grid: List[List[int]]
        leaves: Dict[str, List[Leaf]] = {}
        uniq: Set[int] = set()
        frozen: FrozenSet[str] = frozenset()
        seq: Sequence[Leaf] = ()
        nested: Optional[Dict[str, Dict[str, Leaf]]] = None

    @app.put("/containers/{cid}")
    def put(cid: int, c: Container, ids: Optional[List[int]] = fw.Query(None)) -> Container:
        return c

    return app
