import datetime
import decimal
import uuid
from typing import Optional


def make_app(fw):
    app = fw.FastAPI()

    @app.get("/types/{item_id}")
    def types(
        item_id: uuid.UUID,
        start: Optional[datetime.datetime] = None,
        day: Optional[datetime.date] = None,
        at: Optional[datetime.time] = None,
        delta: Optional[datetime.timedelta] = None,
        price: Optional[decimal.Decimal] = None,
        data: Optional[bytes] = None,
    ):
        return {"item_id": item_id}

    return app
