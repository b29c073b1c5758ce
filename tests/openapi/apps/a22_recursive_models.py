from typing import List, Optional

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class Node(BaseModel):
        name: str
        children: List["Node"] = []
        parent: Optional["Node"] = None

    class Tree(BaseModel):
        root: Node

    @app.post("/trees/")
    def create_tree(tree: Tree) -> Tree:
        return tree

    @app.get("/nodes/{name}", response_model=Node)
    def get_node(name: str):
        return {"name": name}

    return app
