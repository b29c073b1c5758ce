from datetime import datetime

from pydantic import BaseModel


def make_app(fw):
    app = fw.FastAPI()

    class Subscription(BaseModel):
        username: str
        monthly_fee: float
        start_date: datetime

    @app.webhooks.post("new-subscription")
    def new_subscription(body: Subscription):
        """When a new user subscribes, we send a POST here."""

    @app.get("/users/")
    def read_users():
        return []

    return app
