from typing import Union

from pydantic import BaseModel, HttpUrl


def make_app(fw):
    app = fw.FastAPI()

    class Invoice(BaseModel):
        id: str
        title: Union[str, None] = None
        total: float

    class InvoiceEvent(BaseModel):
        description: str
        paid: bool

    class InvoiceEventReceived(BaseModel):
        ok: bool

    invoices_callback_router = fw.APIRouter()

    @invoices_callback_router.post("{$callback_url}/invoices/{$request.body.id}",
                                   response_model=InvoiceEventReceived)
    def invoice_notification(body: InvoiceEvent):
        pass

    @app.post("/invoices/", callbacks=invoices_callback_router.routes)
    def create_invoice(invoice: Invoice, callback_url: Union[HttpUrl, None] = None):
        return {"msg": "Invoice received"}

    return app
