def make_app(fw):
    app = fw.FastAPI(
        title="ChimichangApp",
        description="ChimichangApp API helps you do awesome stuff.",
        summary="Deadpool's favorite app. Nuff said.",
        version="0.0.1",
        terms_of_service="http://example.com/terms/",
        contact={"name": "Deadpoolio", "url": "http://x-force.example.com/contact/",
                 "email": "dp@x-force.example.com"},
        license_info={"name": "Apache 2.0", "identifier": "Apache-2.0"},
        openapi_tags=[
            {"name": "users", "description": "Operations with users."},
            {"name": "items", "description": "Manage items.",
             "externalDocs": {"description": "Items external docs", "url": "https://fastapi.tiangolo.com/"}},
        ],
        servers=[{"url": "https://stag.example.com", "description": "Staging"},
                 {"url": "/api/v1"}],
    )

    @app.get("/users/", tags=["users"])
    def get_users():
        return []

    @app.get("/items/", tags=["items"])
    def get_items():
        return []

    return app
