from typing import Annotated, List, Optional, Union


def make_app(fw):
    app = fw.FastAPI()

    @app.get("/items/")
    def read_items(
        q: Annotated[Union[str, None], fw.Query(
            alias="item-query", title="Query string", description="Query to search",
            min_length=3, max_length=50, pattern="^fixedquery$", deprecated=True)] = None,
        hidden: Annotated[Optional[str], fw.Query(include_in_schema=False)] = None,
        tags: Annotated[List[str], fw.Query()] = ["a", "b"],
        ids: Annotated[Optional[List[int]], fw.Query()] = None,
    ):
        return {"q": q}

    @app.get("/examples/")
    def with_examples(
        q: Annotated[str, fw.Query(examples=["x", "y"])] = "x",
        r: Annotated[str, fw.Query(openapi_examples={
            "normal": {"summary": "A normal example", "value": "foo"},
            "other": {"summary": "Other", "description": "desc", "value": "bar"}})] = "foo",
    ):
        return {"q": q}

    return app
