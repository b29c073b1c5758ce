from typing import Optional, Union


def make_app(fw):
    app = fw.FastAPI()

    @app.get("/items/")
    def list_items(skip: int = 0, limit: int = 10, q: Optional[str] = None,
                   short: bool = False, ratio: Union[float, None] = None):
        return {"skip": skip}

    @app.get("/required")
    def required(needy: str, n: int):
        return {"needy": needy}

    return app
