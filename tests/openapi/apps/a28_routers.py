def make_app(fw):
    app = fw.FastAPI()
    users = fw.APIRouter()
    items = fw.APIRouter(prefix="/items", tags=["items"],
                         responses={404: {"description": "Not found"}})

    @users.get("/users/", tags=["users"])
    def read_users():
        return []

    @users.get("/users/{username}", tags=["users"])
    def read_user(username: str):
        return {}

    @items.get("/")
    def read_items():
        return []

    @items.put("/{item_id}", tags=["custom"], responses={403: {"description": "Forbidden"}})
    def update_item(item_id: str):
        return {}

    app.include_router(users)
    app.include_router(items)
    return app
