from typing import Annotated, List, Literal, Union

from pydantic import BaseModel, Field


def make_app(fw):
    app = fw.FastAPI()

    class Cat(BaseModel):
        pet_type: Literal["cat"]
        meows: int

    class Dog(BaseModel):
        pet_type: Literal["dog"]
        barks: float

    Pet = Annotated[Union[Cat, Dog], Field(discriminator="pet_type")]

    class Owner(BaseModel):
        pets: List[Pet]

    @app.post("/pets/")
    def create_pet(pet: Pet) -> Pet:
        return pet

    @app.post("/owners/")
    def create_owner(owner: Owner) -> Owner:
        return owner

    return app
