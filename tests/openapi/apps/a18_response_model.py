from typing import List, Union

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class UserIn(BaseModel):
        username: str
        password: str
        full_name: Union[str, None] = None

    class UserOut(BaseModel):
        username: str
        full_name: Union[str, None] = None

    @app.post("/user/", response_model=UserOut)
    def create_user(user: UserIn):
        return user

    @app.get("/users/", response_model=List[UserOut])
    def list_users():
        return []

    @app.get("/annotated")
    def annotated() -> UserOut:
        return UserOut(username="x")

    @app.get("/no-model", response_model=None)
    def no_model() -> Union[UserOut, dict]:
        return {}

    return app
