def make_app(fw):
    def custom_generate_unique_id(route):
        return f"{route.tags[0]}-{route.name}"

    def router_id(route):
        return f"router-{route.name}"

    app = fw.FastAPI(generate_unique_id_function=custom_generate_unique_id)
    router = fw.APIRouter(generate_unique_id_function=router_id)

    @app.get("/items/", tags=["items"])
    def list_items():
        return []

    @app.post("/items/", tags=["items"], generate_unique_id_function=lambda r: "explicit-" + r.name)
    def create_item(name: str):
        return {}

    @router.get("/users/", tags=["users"])
    def list_users():
        return []

    app.include_router(router)
    return app
