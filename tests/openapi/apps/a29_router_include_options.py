from typing import Annotated


def make_app(fw):
    def verify_token(x_token: Annotated[str, fw.Header()]):
        return x_token

    def verify_key(x_key: Annotated[str, fw.Header()]):
        return x_key

    app = fw.FastAPI(dependencies=[fw.Depends(verify_key)])
    admin = fw.APIRouter()

    @admin.post("/")
    def update_admin():
        return {}

    nested_parent = fw.APIRouter(prefix="/parent", tags=["parent"])
    nested_child = fw.APIRouter(prefix="/child", tags=["child"])

    @nested_child.get("/leaf", deprecated=True)
    def leaf():
        return {}

    nested_parent.include_router(nested_child)
    app.include_router(admin, prefix="/admin", tags=["admin"],
                       dependencies=[fw.Depends(verify_token)],
                       responses={418: {"description": "I'm a teapot"}})
    app.include_router(nested_parent, prefix="/v1", deprecated=False)

    @app.get("/")
    def root():
        return {}

    return app
