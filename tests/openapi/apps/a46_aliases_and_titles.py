from typing import Annotated, Optional

from pydantic import AliasChoices, BaseModel, Field


def make_app(fw):
    app = fw.FastAPI()

    class Out(BaseModel):
        internal_name: str = Field(serialization_alias="publicName")
        value: int = Field(validation_alias="val", title="Custom Title")

    @app.get("/alias")
    def alias(
        q: Annotated[str, fw.Query(alias="query-string")] = "x",
        v: Annotated[Optional[str], fw.Query(validation_alias="vee")] = None,
        t: Annotated[Optional[str], fw.Query(title="Tee Title")] = None,
        c: Annotated[Optional[str], fw.Query(validation_alias=AliasChoices("cee", "see"))] = None,
    ) -> Out:
        return Out(internal_name="x", val=1)

    @app.post("/alias-body")
    def alias_body(o: Out) -> Out:
        return o

    return app
