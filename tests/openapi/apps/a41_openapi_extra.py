def make_app(fw):
    app = fw.FastAPI()

    @app.get("/items/", openapi_extra={"x-aperture-labs-portal": "blue"})
    def read_items():
        return []

    @app.post("/raw-body", openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": {
            "required": ["name"], "type": "object",
            "properties": {"name": {"type": "string"}}}}}, "required": True},
        "parameters": [{"name": "x-extra", "in": "header", "schema": {"type": "string"}}],
    })
    def raw_body(q: int = 0):
        return {}

    return app
