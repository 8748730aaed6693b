"""The stub as a WSGI application: Stripe's API paths under /v1/, the checkout page under /pay/,
and the test hooks under /_stub/ (admin token). State is in memory: a restart forgets it, as a
test or a demo session expects."""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from stripe_stub.forms import parse_form
from stripe_stub.signing import signature_header

log = logging.getLogger("stripe_stub")

API_VERSION = "2026-10-28.endive"
# Stripe's test cards: this one pays, the next is declined.
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


class StubError(Exception):
    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error", param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param = status, message, type_, param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.param:
            error["param"] = self.param
        return {"error": error}


# After a delivery fails (an answer outside 2xx, or no answer), it is tried again after each of
# these many seconds in turn, then given up: Stripe's own back-off spreads its retries over three
# days; the stub's fits in about two minutes, for an app restarting under `make run`.
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


@dataclasses.dataclass
class Delivery:
    event_id: str
    url: str
    status: int | None
    error: str = ""
    attempt: int = 1  # 1 the first time; each retry one more

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclasses.dataclass
class Account:
    """Everything one secret key has made (Stripe keeps each account's objects apart)."""

    key: str
    sessions: dict[str, dict] = dataclasses.field(default_factory=dict)
    intents: dict[str, dict] = dataclasses.field(default_factory=dict)
    charges: dict[str, dict] = dataclasses.field(default_factory=dict)
    refunds: dict[str, dict] = dataclasses.field(default_factory=dict)
    endpoints: dict[str, dict] = dataclasses.field(default_factory=dict)
    events: dict[str, dict] = dataclasses.field(default_factory=dict)  # in the order made


class StripeStub:
    def __init__(
        self,
        *,
        admin_token: str | None = None,
        deliver: bool = True,
        base_url: str = "",
        state_file: Path | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ):
        self.admin_token = admin_token
        self.deliver_webhooks = deliver  # False: events are made and kept, sent only when asked
        self.retry_delays = tuple(retry_delays)  # () : a failed delivery is not tried again
        self._retries: set[threading.Timer] = set()
        self.base_url = base_url  # this stub's own address, for the checkout page's URL
        self.accounts: dict[str, Account] = {}
        self.deliveries: list[Delivery] = []
        self._outbox: list[tuple[Account, str]] = []
        self.lock = threading.RLock()
        # Kept across restarts when given (`make run` restarts a child that exits): every account's
        # objects, endpoints and events, written after each change.
        self.state_file = state_file
        if state_file is not None and state_file.exists():
            for key, saved in json.loads(state_file.read_text()).items():
                self.accounts[key] = Account(**saved)

    def save(self) -> None:
        if self.state_file is None:
            return
        with self.lock:
            document = json.dumps({key: dataclasses.asdict(a) for key, a in self.accounts.items()})
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(document)
        temporary.replace(self.state_file)

    # -- the WSGI edge -------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode() if length else ""
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        base = self.base_url or f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        try:
            if path.startswith("/v1/"):
                account = self._account(environ.get("HTTP_AUTHORIZATION", ""))
                params = parse_form(body) if body else dict(query)
                status, document = self._api(account, method, path, params, base)
                if method == "POST":
                    self.save()
                self.flush()
                return self._json(start_response, status, document)
            if path.startswith("/pay/"):
                return self._checkout_page(start_response, method, path, body)
            if path.startswith("/_stub/"):
                if not self.admin_token or environ.get("HTTP_X_STUB_ADMIN_TOKEN") != self.admin_token:
                    raise StubError(403, "The stub's admin hooks need X-Stub-Admin-Token.")
                return self._json(start_response, 200, self._admin(method, path, json.loads(body or "{}")))
            if path in ("", "/"):
                return self._html(start_response, 200, "Stripe stub", "<p>Stripe stub for OpenPractice.</p>")
            raise StubError(404, f"Unrecognized request URL ({method}: {path}).")
        except StubError as exc:
            return self._json(start_response, exc.status, exc.body())

    def _json(self, start_response, status: int, document: Any) -> list[bytes]:
        payload = json.dumps(document).encode()
        start_response(f"{status} {_REASONS.get(status, 'OK')}", [("Content-Type", "application/json")])
        return [payload]

    def _html(self, start_response, status: int, title: str, body: str, headers=()) -> list[bytes]:
        page = _PAGE.format(title=html.escape(title), body=body).encode()
        start_response(
            f"{status} {_REASONS.get(status, 'OK')}", [("Content-Type", "text/html; charset=utf-8"), *headers]
        )
        return [page]

    def _account(self, authorization: str) -> Account:
        key = authorization.removeprefix("Bearer ").strip()
        if not key:
            raise StubError(401, "You did not provide an API key.")
        if not (key.startswith("sk_test_") or key.startswith("rk_test_")):
            raise StubError(401, f"Invalid API Key provided: {key[:8]}****. The stub takes test keys only (sk_test_…).")
        with self.lock:
            return self.accounts.setdefault(key, Account(key))

    # -- the API ---------------------------------------------------------------------------------
    def _api(self, account: Account, method: str, path: str, params: dict, base: str) -> tuple[int, Any]:
        parts = path.strip("/").split("/")[1:]  # after "v1"
        with self.lock:
            if parts == ["balance"] and method == "GET":
                return 200, {
                    "object": "balance",
                    "livemode": False,
                    "available": [{"amount": 0, "currency": "gbp"}],
                    "pending": [{"amount": 0, "currency": "gbp"}],
                }
            if parts == ["checkout", "sessions"] and method == "POST":
                return 200, self._create_session(account, params, base)
            if parts[:2] == ["checkout", "sessions"] and len(parts) == 3 and method == "GET":
                return 200, self._find(account.sessions, parts[2], "checkout.session")
            if parts[:2] == ["checkout", "sessions"] and parts[3:] == ["expire"] and method == "POST":
                session = self._find(account.sessions, parts[2], "checkout.session")
                if session["status"] != "open":
                    raise StubError(400, f"Only an open session can be expired; this one is {session['status']}.")
                session["status"] = "expired"
                self._event(account, "checkout.session.expired", session)
                return 200, session
            if parts[:1] == ["payment_intents"] and len(parts) == 2 and method == "GET":
                return 200, self._find(account.intents, parts[1], "payment_intent")
            if parts == ["refunds"] and method == "POST":
                return 200, self._refund(account, params)
            if parts == ["webhook_endpoints"] and method == "POST":
                return 200, self._create_endpoint(account, params)
        raise StubError(
            404, f"Unrecognized request URL ({method}: {path}). The stub answers only the calls OpenPractice makes."
        )

    def _find(self, objects: dict[str, dict], object_id: str, kind: str) -> dict:
        if object_id not in objects:
            raise StubError(404, f"No such {kind}: '{object_id}'", param="id")
        return objects[object_id]

    def _create_session(self, account: Account, params: dict, base: str) -> dict:
        if params.get("mode") != "payment":
            raise StubError(400, "The stub makes payment-mode sessions only (mode=payment).", param="mode")
        for field in ("success_url", "line_items"):
            if not params.get(field):
                raise StubError(400, f"Missing required param: {field}.", param=field)
        amount, currency = 0, None
        for item in params["line_items"]:
            price = item.get("price_data") or {}
            try:
                unit = int(price.get("unit_amount", ""))
                quantity = int(item.get("quantity", "1"))
            except ValueError:
                raise StubError(400, "line_items need price_data[unit_amount] and quantity as whole numbers.") from None
            if unit < 1:
                raise StubError(400, "unit_amount must be at least 1.", param="line_items")
            amount += unit * quantity
            currency = price.get("currency", "gbp")
        session_id = f"cs_test_{secrets.token_hex(16)}"
        intent_data = params.get("payment_intent_data") or {}
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": int(time.time()),
            "currency": currency,
            "customer_email": params.get("customer_email"),
            "expires_at": int(time.time()) + 24 * 3600,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params["success_url"],
            "url": f"{base.rstrip('/')}/pay/{session_id}",
            "_line_items": params["line_items"],
            "_intent_metadata": intent_data.get("metadata") or {},
        }
        account.sessions[session_id] = session
        return self._public(session)

    @staticmethod
    def _public(document: dict) -> dict:
        return {key: value for key, value in document.items() if not key.startswith("_")}

    def _create_endpoint(self, account: Account, params: dict) -> dict:
        if not params.get("url"):
            raise StubError(400, "Missing required param: url.", param="url")
        endpoint = {
            "id": _id("we"),
            "object": "webhook_endpoint",
            "url": params["url"],
            "enabled_events": params.get("enabled_events") or ["*"],
            "status": "enabled",
            "livemode": False,
            "secret": f"whsec_{secrets.token_hex(24)}",
        }
        # One endpoint per address: registering it again replaces it (and its secret).
        for old in [key for key, value in account.endpoints.items() if value["url"] == endpoint["url"]]:
            del account.endpoints[old]
        account.endpoints[endpoint["id"]] = endpoint
        return endpoint

    def _refund(self, account: Account, params: dict) -> dict:
        intent_id = params.get("payment_intent")
        if not intent_id:
            raise StubError(400, "Missing required param: payment_intent.", param="payment_intent")
        intent = self._find(account.intents, intent_id, "payment_intent")
        charge = account.charges[intent["latest_charge"]]
        left = charge["amount"] - charge["amount_refunded"]
        try:
            amount = int(params.get("amount") or left)
        except ValueError:
            raise StubError(400, "amount must be a whole number of pence.", param="amount") from None
        if amount < 1 or amount > left:
            raise StubError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left}).",
                param="amount",
            )
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "currency": charge["currency"],
            "created": int(time.time()),
            "payment_intent": intent_id,
            "reason": params.get("reason"),
            "status": "succeeded",
            "metadata": params.get("metadata") or {},
        }
        account.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        charge["refunds"]["total_count"] += 1
        self._event(account, "charge.refunded", charge)
        self._event(account, "refund.created", refund)
        return refund

    # -- paying on the checkout page ---------------------------------------------------------------
    def pay(self, session_id: str, card_number: str = CARD_OK) -> dict:
        """What the checkout page's "Pay" does (tests may call it directly): the session is paid
        with this card, or StubError(402) says why not. Its webhooks are sent before it returns."""
        paid = self._pay(session_id, card_number)
        self.save()
        self.flush()
        return paid

    def _pay(self, session_id: str, card_number: str) -> dict:
        with self.lock:
            account, session = self._session_anywhere(session_id)
            if session["status"] != "open":
                raise StubError(400, f"This checkout session is {session['status']}.")
            number = "".join(ch for ch in card_number if ch.isdigit())
            if number == CARD_DECLINED:
                raise StubError(402, "Your card was declined.", type_="card_error")
            if number != CARD_OK:
                raise StubError(
                    402,
                    f"Use the test card {CARD_OK[:4]} {CARD_OK[4:8]} {CARD_OK[8:12]} {CARD_OK[12:]}.",
                    type_="card_error",
                )
            now = int(time.time())
            intent_id, charge_id = _id("pi"), _id("ch")
            metadata = session["_intent_metadata"] or session["metadata"]
            charge = {
                "id": charge_id,
                "object": "charge",
                "amount": session["amount_total"],
                "amount_captured": session["amount_total"],
                "amount_refunded": 0,
                "captured": True,
                "created": now,
                "currency": session["currency"],
                "metadata": {},
                "paid": True,
                "payment_intent": intent_id,
                "refunded": False,
                "refunds": {"object": "list", "data": [], "has_more": False, "total_count": 0},
                "status": "succeeded",
            }
            intent = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_received": session["amount_total"],
                "created": now,
                "currency": session["currency"],
                "latest_charge": charge_id,
                "metadata": metadata,
                "status": "succeeded",
            }
            account.charges[charge_id] = charge
            account.intents[intent_id] = intent
            session.update(status="complete", payment_status="paid", payment_intent=intent_id)
            # The order Stripe usually sends them in; nothing promises it (the app must not care).
            self._event(account, "charge.succeeded", charge)
            self._event(account, "payment_intent.succeeded", intent)
            self._event(account, "checkout.session.completed", session)
            return self._public(session)

    def _session_anywhere(self, session_id: str) -> tuple[Account, dict]:
        for account in self.accounts.values():
            if session_id in account.sessions:
                return account, account.sessions[session_id]
        raise StubError(404, "No such checkout session.")

    def _checkout_page(self, start_response, method: str, path: str, body: str) -> list[bytes]:
        session_id = path.removeprefix("/pay/").strip("/")
        try:
            with self.lock:
                _account, session = self._session_anywhere(session_id)
        except StubError:
            return self._html(start_response, 404, "Not found", "<h1>This payment page does not exist</h1>")
        error = ""
        if method == "POST":
            form = dict(parse_qsl(body))
            try:
                paid = self.pay(session_id, form.get("card_number", ""))
            except StubError as exc:
                error = exc.message
            else:
                target = (paid["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", session_id)
                start_response("303 See Other", [("Location", target), ("Content-Type", "text/plain")])
                return [b""]
        if session["status"] != "open":
            return self._html(
                start_response, 410, "Checkout closed", f"<h1>This checkout is {html.escape(session['status'])}</h1>"
            )
        amount = session["amount_total"]
        items = "".join(
            f"<li>{html.escape(str((i.get('price_data') or {}).get('product_data', {}).get('name', 'Payment')))}</li>"
            for i in session["_line_items"]
        )
        cancel = session.get("cancel_url")
        body_html = _CHECKOUT.format(
            amount=f"£{amount // 100:,}.{amount % 100:02d}",
            items=items,
            error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
            email=html.escape(session.get("customer_email") or ""),
            cancel=f'<p><a href="{html.escape(cancel)}">Cancel and go back</a></p>' if cancel else "",
        )
        return self._html(start_response, 402 if error else 200, "Pay by card", body_html)

    # -- events and their delivery ---------------------------------------------------------------
    def _event(self, account: Account, kind: str, obj: dict) -> dict:
        event = {
            "id": _id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": json.loads(json.dumps(self._public(obj)))},  # as it was then
            "livemode": False,
            "pending_webhooks": len(account.endpoints),
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        account.events[event["id"]] = event
        if self.deliver_webhooks:
            self._outbox.append((account, event["id"]))
        return event

    def flush(self) -> None:
        """Send what the last operation queued, outside the lock: the app may call back. A
        delivery that fails is tried again later (retry_delays), as Stripe does."""
        with self.lock:
            queued, self._outbox = self._outbox, []
        for account, event_id in queued:
            self.send(account, [event_id], retry=True)

    def send(self, account: Account, event_ids: list[str], *, retry: bool = False) -> list[Delivery]:
        """POST these events, in this order, to every endpoint that takes them, signed. With
        `retry`, each failed delivery is tried again on a timer (the admin hook's resend is not:
        it answers what each delivery did)."""
        done = []
        for event_id in event_ids:
            event = account.events[event_id]
            for endpoint in list(account.endpoints.values()):
                wanted = endpoint["enabled_events"]
                if "*" not in wanted and event["type"] not in wanted:
                    continue
                delivery = self._post(endpoint, event)
                done.append(delivery)
                if retry and not delivery.ok:
                    self._retry_later(account, event_id, endpoint["id"], attempt=1)
        with self.lock:
            self.deliveries.extend(done)
        return done

    def _retry_later(self, account: Account, event_id: str, endpoint_id: str, *, attempt: int) -> None:
        """Try delivery `attempt + 1` after its delay, or give up when the delays are spent."""
        if attempt > len(self.retry_delays):
            if self.retry_delays:
                log.warning("webhook %s to endpoint %s: given up after %s attempts", event_id, endpoint_id, attempt)
            return
        timer = threading.Timer(
            self.retry_delays[attempt - 1], self._retry, (account, event_id, endpoint_id, attempt + 1)
        )
        timer.daemon = True
        with self.lock:
            self._retries.add(timer)
        timer.start()

    def _retry(self, account: Account, event_id: str, endpoint_id: str, attempt: int) -> None:
        with self.lock:
            self._retries.discard(threading.current_thread())  # type: ignore[arg-type]  # the Timer itself
            # An endpoint deleted or registered again (a new id, a new secret) meanwhile: not sent.
            endpoint = account.endpoints.get(endpoint_id)
            event = account.events.get(event_id)
        if endpoint is None or event is None:
            return
        delivery = self._post(endpoint, event, attempt=attempt)
        with self.lock:
            self.deliveries.append(delivery)
        if not delivery.ok:
            self._retry_later(account, event_id, endpoint_id, attempt=attempt)

    def retries_pending(self) -> int:
        with self.lock:
            return len(self._retries)

    def stop_retries(self) -> None:
        """Cancel every retry still waiting (a test's stub shutting down)."""
        with self.lock:
            waiting, self._retries = self._retries, set()
        for timer in waiting:
            timer.cancel()

    def _post(self, endpoint: dict, event: dict, *, attempt: int = 1) -> Delivery:
        payload = json.dumps(event).encode()
        request = urllib.request.Request(
            endpoint["url"],
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature_header(payload, endpoint["secret"]),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) stub",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (a registered local URL)
                return Delivery(event["id"], endpoint["url"], answer.status, attempt=attempt)
        except urllib.error.HTTPError as exc:
            log.warning("webhook %s to %s (attempt %s): %s", event["id"], endpoint["url"], attempt, exc.code)
            return Delivery(
                event["id"], endpoint["url"], exc.code, exc.read().decode(errors="replace")[:500], attempt=attempt
            )
        except OSError as exc:
            log.warning("webhook %s to %s (attempt %s) failed: %s", event["id"], endpoint["url"], attempt, exc)
            return Delivery(event["id"], endpoint["url"], None, str(exc), attempt=attempt)

    # -- the test hooks --------------------------------------------------------------------------
    def _admin(self, method: str, path: str, body: dict) -> Any:
        """GET /_stub/events: every event, oldest first. POST /_stub/resend {"events": [ids]}: send
        these again in this order (repeats and reorders). POST /_stub/pay {"session": id, "card": …}.
        POST /_stub/delivery {"on": bool}: send events as they happen, or keep them for /resend."""
        with self.lock:
            if path == "/_stub/events" and method == "GET":
                return [
                    {"id": e["id"], "type": e["type"], "key": a.key[:12], "object": e["data"]["object"].get("id")}
                    for a in self.accounts.values()
                    for e in a.events.values()
                ]
            if path == "/_stub/resend" and method == "POST":
                sent = []
                for event_id in body.get("events", []):
                    account = next((a for a in self.accounts.values() if event_id in a.events), None)
                    if account is None:
                        raise StubError(404, f"No such event: {event_id}")
                    sent += self.send(account, [event_id])
                return [dataclasses.asdict(d) for d in sent]
            if path == "/_stub/pay" and method == "POST":
                return self.pay(body.get("session", ""), body.get("card", CARD_OK))
            if path == "/_stub/delivery" and method == "POST":
                self.deliver_webhooks = bool(body.get("on", True))
                return {"on": self.deliver_webhooks}
        raise StubError(404, f"No admin hook {method} {path}.")


_REASONS = {
    200: "OK",
    303: "See Other",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
}

_PAGE = """<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;background:#f6f8fa;color:#1a1f36;margin:0;padding:2rem 1rem}}
main{{max-width:26rem;margin:0 auto;background:#fff;border-radius:8px;box-shadow:0 2px 8px #0002;padding:2rem}}
h1{{font-size:1.1rem;margin:0 0 .25rem}} .amount{{font-size:2rem;font-weight:600;margin:.25rem 0 1rem}}
label{{display:block;font-size:.9rem;margin:.75rem 0 .25rem}} input{{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #c1c9d2;border-radius:6px;font-size:1rem}}
.row{{display:flex;gap:.75rem}} .row>div{{flex:1}}
button{{margin-top:1.25rem;width:100%;padding:.75rem;border:0;border-radius:6px;background:#635bff;color:#fff;font-size:1rem;font-weight:600;cursor:pointer}}
.error{{color:#b3093c;background:#fff0f3;padding:.5rem .75rem;border-radius:6px}} .test{{font-size:.8rem;color:#697386;margin-top:1rem}}
</style></head><body><main>{body}</main></body></html>"""

_CHECKOUT = """<p class="test">TEST MODE · Stripe stub</p>
<h1>Pay by card</h1><p class="amount">{amount}</p><ul>{items}</ul>
{error}
<form method="post"><label for="email">Email</label><input id="email" name="email" type="email" value="{email}" autocomplete="email">
<label for="card_number">Card number</label><input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" required>
<div class="row"><div><label for="expiry">Expiry (MM / YY)</label><input id="expiry" name="expiry" placeholder="12 / 34" autocomplete="cc-exp" required></div>
<div><label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" placeholder="123" autocomplete="cc-csc" required></div></div>
<label for="name">Name on card</label><input id="name" name="name" autocomplete="cc-name" required>
<button type="submit">Pay {amount}</button></form>{cancel}
<p class="test">Test card 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined. Any future expiry, any CVC.</p>"""
