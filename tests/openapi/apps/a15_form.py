from typing import Annotated, List, Optional

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    @app.post("/login/")
    def login(username: Annotated[str, fw.Form()], password: Annotated[str, fw.Form()]):
        return {"username": username}

    class FormData(BaseModel):
        username: str
        password: str
        tags: List[str] = []
        remember: Optional[bool] = None

    @app.post("/model-form/")
    def model_form(data: Annotated[FormData, fw.Form()]):
        return data

    return app
