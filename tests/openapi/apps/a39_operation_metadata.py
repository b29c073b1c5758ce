def make_app(fw):
    app = fw.FastAPI()

    @app.get("/items/", operation_id="some_specific_id_you_define", summary="Read them",
             description="Long description", tags=["items"], deprecated=True)
    def read_items():
        return []

    @app.get("/doc/")
    def docstring_route():
        """
        Create an item with all the information:

        - **name**: each item must have a name
        \f
        :param item: User input.
        """
        return {}

    @app.get("/hidden/", include_in_schema=False)
    def hidden():
        return {}

    @app.api_route("/multi", methods=["PUT"], operation_id="multi_put")
    def multi():
        return {}

    return app
