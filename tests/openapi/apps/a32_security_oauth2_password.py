from typing import Annotated


def make_app(fw):
    app = fw.FastAPI()
    oauth2_scheme = fw.security.OAuth2PasswordBearer(tokenUrl="token")

    @app.post("/token")
    def login(form_data: Annotated[fw.security.OAuth2PasswordRequestForm, fw.Depends()]):
        return {"access_token": form_data.username, "token_type": "bearer"}

    @app.post("/token-strict")
    def login_strict(form: Annotated[fw.security.OAuth2PasswordRequestFormStrict, fw.Depends()]):
        return {}

    @app.get("/items/")
    def read_items(token: Annotated[str, fw.Depends(oauth2_scheme)]):
        return {"token": token}

    return app
