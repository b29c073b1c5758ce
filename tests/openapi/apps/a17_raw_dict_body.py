from typing import Any, Dict, List


def make_app(fw):
    app = fw.FastAPI()

    @app.post("/any")
    def any_body(payload: Dict[str, Any]):
        return payload

    @app.post("/list")
    def list_body(values: List[int]):
        return values

    @app.post("/scalar-body")
    def scalar_body(value: int = fw.Body()):
        return value

    return app
