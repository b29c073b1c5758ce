def make_app(fw):
    app = fw.FastAPI(title="Custom URLs", version="2.0", openapi_url="/api/v1/openapi.json",
                     docs_url="/documentation", redoc_url=None)

    @app.get("/items/")
    def read_items():
        return []

    return app
