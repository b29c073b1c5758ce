from typing import Annotated, List

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()
    oauth2_scheme = fw.security.OAuth2PasswordBearer(
        tokenUrl="token", refreshUrl="refresh",
        scopes={"me": "Read information about the current user.", "items": "Read items."},
        description="OAuth2 with scopes")

    class User(BaseModel):
        username: str
        scopes: List[str] = []

    def get_current_user(security_scopes: fw.security.SecurityScopes,
                         token: Annotated[str, fw.Depends(oauth2_scheme)]) -> User:
        return User(username=token)

    def get_current_active_user(
            current_user: Annotated[User, fw.Security(get_current_user, scopes=["me"])]) -> User:
        return current_user

    @app.get("/users/me/", response_model=User)
    def read_users_me(current_user: Annotated[User, fw.Depends(get_current_active_user)]):
        return current_user

    @app.get("/users/me/items/")
    def read_own_items(
            current_user: Annotated[User, fw.Security(get_current_active_user, scopes=["items"])]):
        return []

    @app.get("/status/")
    def read_system_status(current_user: Annotated[User, fw.Depends(get_current_user)]):
        return {"status": "ok"}

    return app
