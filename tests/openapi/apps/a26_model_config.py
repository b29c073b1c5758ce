from typing import Optional

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


def make_app(fw):
    app = fw.FastAPI()

    class Camel(BaseModel):
        """A model with camelCase aliases.

        More text.\fHidden part for OpenAPI.
        """
        model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                                  title="CamelModel")
        first_name: str
        last_name: Optional[str] = None
        age_years: int = Field(0, ge=0, deprecated=True)

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        x: int

    @app.post("/camel")
    def camel(body: Camel) -> Camel:
        return body

    @app.post("/strict")
    def strict(body: Strict) -> Strict:
        return body

    return app
