"""The sandbox WSGI application: endpoints, authentication, fault injection."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sandbox import bills, clock, db, faults, remittances, resources, rules, seed
from sandbox.claim_mapping import ClaimNotAccepted, check_fhir_structure
from sandbox.fhir import extension, operation_outcome, searchset
from sandbox.validation import cover_active
from sandbox.web import (
    STATUS_TEXT,
    HttpError,
    Request,
    Response,
    Router,
    error_response,
    fhir_response,
    json_response,
    paging,
)

log = logging.getLogger("sandbox")

API_PREFIX = "/api/v1"
TOKEN_PATH = "/oauth2/token"
ADMIN_PREFIX = "/_sandbox"
ADMIN_TOKEN_HEADER = "X-Sandbox-Admin-Token"
# Healthcode's documented discovery document path; the sandbox's first path answers it too, for
# settings saved before it moved.
DISCOVERY_PATH = "/.well-known/discovery-document.json"
OLD_DISCOVERY_PATH = "/.well-known/healthcode-discovery"
# The HC-API-Version request header: the versions this API answers, and the one a request
# without the header gets.
API_VERSION_HEADER = "HC-API-Version"
API_VERSIONS = ("1",)
DEFAULT_API_VERSION = "1"


class DropConnection(Exception):
    """Fault injection: close the socket without answering."""


class SandboxApp:
    def __init__(self, data_dir: Path, *, admin_token: str | None = None, token_lifetime_seconds: int = 3600):
        self.data_dir = Path(data_dir)
        self.admin_token = admin_token
        self.token_lifetime_seconds = token_lifetime_seconds
        self.fault_injector = faults.FaultInjector()
        self._local = threading.local()
        self.router = Router()
        self._add_routes()

    # -- WSGI ------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        started = time.monotonic()
        try:
            response = self.dispatch(request)
        except HttpError as error:
            response = error_response(error)
        except DropConnection:
            _drop_connection(environ)
            response = fhir_response(operation_outcome([("transient", "Connection dropped", None)]), 503)
        except Exception:  # never leak a traceback to the client
            log.exception("unexpected error serving %s %s", request.method, request.path)
            response = fhir_response(
                operation_outcome([("exception", "The sandbox hit an unexpected error; see its log", None)]), 500
            )
        headers = [
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(response.body))),
            ("Cache-Control", "no-store"),
        ]
        headers += list(response.headers.items())
        start_response(f"{response.status} {STATUS_TEXT.get(response.status, 'Status')}", headers)
        log.info("%s %s %s %.0f ms", request.method, request.path, response.status, (time.monotonic() - started) * 1000)
        return [response.body]

    def dispatch(self, request: Request) -> Response:
        handler = self.router.resolve(request)
        is_api = request.path.startswith(API_PREFIX + "/")
        decision = self._fault_decision() if is_api or request.path == TOKEN_PATH else None
        if decision is not None:
            if decision.latency_ms:
                time.sleep(decision.latency_ms / 1000)
            if not decision.after_processing:
                self._inject_fault(decision, is_api)
        if request.path.startswith(ADMIN_PREFIX + "/"):
            self._require_admin(request)
        connection = self._connection()
        request.context["db"] = connection
        try:
            if is_api:
                self._check_api_version(request)
                self._authenticate(request)
            response = handler(request)
        finally:
            if connection.in_transaction:  # never hand the next request a half-done transaction
                connection.rollback()
        if decision is not None and decision.after_processing:
            self._inject_fault(decision, is_api)
        return response

    # -- cross-cutting ---------------------------------------------------------------
    def _connection(self):
        # One connection per server thread, kept open: opening and closing one per request cost
        # more than the bill itself (closing the last connection checkpoints and removes the WAL).
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = db.connect(self.data_dir)
        return connection

    def _fault_decision(self) -> faults.Decision:
        return self.fault_injector.decide(faults.load(self._connection()))

    def _inject_fault(self, decision: faults.Decision, is_api: bool) -> None:
        if decision.fault == "drop":
            raise DropConnection()
        if decision.fault == "timeout":
            time.sleep(decision.sleep_seconds)
            raise HttpError(504, "timeout", "Injected fault: the clearing house timed out")
        if decision.fault == "error":
            raise HttpError(503, "transient", "Injected fault: the clearing house is temporarily unavailable")
        if decision.fault == "expired_token" and is_api:
            raise _token_error("The access token expired (injected fault)")

    def _authenticate(self, request: Request) -> None:
        site_id = request.header("SU-SiteId")
        if not site_id:
            raise HttpError(400, "required", "The SU-SiteId header is required on every API call", "SU-SiteId")
        authorization = request.header("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _token_error("An Authorization: Bearer token is required")
        row = (
            request.context["db"]
            .execute("SELECT * FROM access_tokens WHERE token_sha256 = ?", (_digest(token.strip()),))
            .fetchone()
        )
        if row is None:
            raise _token_error("The bearer token is not valid")
        if row["expires_at"] <= time.time():
            raise _token_error("The access token expired")
        if row["site_id"] != site_id:
            raise HttpError(
                403,
                "forbidden",
                f"SU-SiteId '{site_id}' does not match the site the credentials were issued for",
                "SU-SiteId",
            )
        request.context["site_id"] = site_id

    def _check_api_version(self, request: Request) -> None:
        """HC-API-Version: missing means version 1; a version this API does not answer is refused
        with an OperationOutcome naming the header and the versions it does answer."""
        version = (request.header(API_VERSION_HEADER) or DEFAULT_API_VERSION).strip()
        if version not in API_VERSIONS:
            raise HttpError(
                400,
                "not-supported",
                f"{API_VERSION_HEADER} '{version[:20]}' is not a version of this API; it answers version "
                f"{', '.join(API_VERSIONS)} (send the header with one of them, or leave it out for {DEFAULT_API_VERSION})",
                API_VERSION_HEADER,
            )
        request.context["api_version"] = version

    def _require_admin(self, request: Request) -> None:
        if not self.admin_token:
            raise HttpError(
                403, "forbidden", "Admin endpoints are disabled: start with --admin-token or SANDBOX_ADMIN_TOKEN"
            )
        supplied = request.header(ADMIN_TOKEN_HEADER) or ""
        if not hmac.compare_digest(supplied.encode(), self.admin_token.encode()):
            raise HttpError(401, "login", f"A valid {ADMIN_TOKEN_HEADER} header is required")

    # -- routes ----------------------------------------------------------------------
    def _add_routes(self) -> None:
        add = self.router.add
        add("GET", "/", self.index)
        add("GET", DISCOVERY_PATH, self.discovery)
        add("GET", OLD_DISCOVERY_PATH, self.discovery)
        add("GET", "/.well-known/openid-configuration", self.openid_configuration)
        add("POST", TOKEN_PATH, self.token)
        add("POST", f"{API_PREFIX}/insurers/_search", self.list_insurers)
        add("POST", f"{API_PREFIX}/code-sets/_search", self.search_code_set)
        add("POST", f"{API_PREFIX}/members/_search", self.find_member)
        add("POST", f"{API_PREFIX}/bills", self.submit_bill)
        add("POST", f"{API_PREFIX}/bills/_search", self.bill_status)
        add("POST", f"{API_PREFIX}/bills/_cancel", self.cancel_bill)
        add("GET", f"{API_PREFIX}/bills/{{bill_id}}", self.get_bill)
        add("POST", f"{API_PREFIX}/remittances/_pending", self.pending_remittances)
        add("POST", f"{API_PREFIX}/remittances/_details", self.remittance_details)
        add("POST", f"{API_PREFIX}/remittances/_acknowledge", self.acknowledge_remittance)
        add("POST", f"{API_PREFIX}/remittances/_search", self.search_remittances)
        add("GET", f"{ADMIN_PREFIX}/clock", self.admin_clock)
        add("POST", f"{ADMIN_PREFIX}/clock/advance", self.admin_advance_clock)
        add("GET", f"{ADMIN_PREFIX}/faults", self.admin_faults)
        add("PUT", f"{ADMIN_PREFIX}/faults", self.admin_set_faults)
        add("PUT", f"{ADMIN_PREFIX}/insurers/{{insurer}}/adjudication", self.admin_set_adjudication)
        add("POST", f"{ADMIN_PREFIX}/tokens/expire", self.admin_expire_tokens)

    def index(self, request: Request) -> Response:
        return json_response(
            {
                "service": "OpenPractice Healthcode sandbox",
                "discovery": f"{request.base_url}{DISCOVERY_PATH}",
            }
        )

    def discovery(self, request: Request) -> Response:
        base = request.base_url
        api = f"{base}{API_PREFIX}"
        return json_response(
            {
                "issuer": base,
                "openid_configuration": f"{base}/.well-known/openid-configuration",
                "token_endpoint": f"{base}{TOKEN_PATH}",
                "list_insurers_endpoint": f"{api}/insurers/_search",
                "search_code_set_endpoint": f"{api}/code-sets/_search",
                "find_member_endpoint": f"{api}/members/_search",
                "submit_claim_endpoint": f"{api}/bills",
                "claim_status_endpoint": f"{api}/bills/_search",
                "cancel_claim_endpoint": f"{api}/bills/_cancel",
                "list_pending_remittances_endpoint": f"{api}/remittances/_pending",
                "get_remittance_details_endpoint": f"{api}/remittances/_details",
                "acknowledge_remittance_endpoint": f"{api}/remittances/_acknowledge",
                "search_remittance_summary_endpoint": f"{api}/remittances/_search",
            }
        )

    def openid_configuration(self, request: Request) -> Response:
        base = request.base_url
        return json_response(
            {
                "issuer": base,
                "token_endpoint": f"{base}{TOKEN_PATH}",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "response_types_supported": ["token"],
                "scopes_supported": ["clearing-services"],
            }
        )

    def token(self, request: Request) -> Response:
        # OAuth 2.0 (RFC 6749 section 5.2) error bodies here, not OperationOutcome: this is
        # the authorisation server, and OAuth clients expect its error format.
        if request.media_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        values = request.form()
        if values.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
        client_id, client_secret = values.get("client_id"), values.get("client_secret")
        authorization = request.header("Authorization") or ""
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
                client_id, _, client_secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                return _oauth_error(400, "invalid_request", "Authorization: Basic value is not valid base64")
        if not client_id or not client_secret:
            return _oauth_error(401, "invalid_client", "client_id and client_secret are required")
        connection = request.context["db"]
        client = connection.execute("SELECT * FROM api_clients WHERE client_id = ?", (client_id,)).fetchone()
        if client is None or not hmac.compare_digest(client["secret_sha256"], seed.secret_digest(client_secret)):
            return _oauth_error(401, "invalid_client", "Unknown API key id or wrong API key")
        token = secrets.token_urlsafe(32)
        with db.transaction(connection):
            connection.execute("DELETE FROM access_tokens WHERE expires_at < ?", (time.time() - 86400,))
            connection.execute(
                "INSERT INTO access_tokens (token_sha256, client_id, site_id, expires_at) VALUES (?, ?, ?, ?)",
                (_digest(token), client_id, client["site_id"], time.time() + self.token_lifetime_seconds),
            )
        return json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_lifetime_seconds,
                "scope": "clearing-services",
            }
        )

    # -- reference data --------------------------------------------------------------
    def list_insurers(self, request: Request) -> Response:
        values = request.form()
        page, count = paging(values)
        rows = request.context["db"].execute("SELECT * FROM insurers ORDER BY name").fetchall()
        if values.get("name"):
            rows = [row for row in rows if values["name"].lower() in row["name"].lower()]
        if values.get("identifier"):
            rows = [row for row in rows if row["identifier"] == values["identifier"]]
        return _paged(request, [resources.organization(row) for row in rows], page, count)

    def search_code_set(self, request: Request) -> Response:
        values = request.form()
        page, count = paging(values)
        code_set = values.get("codeSet", "")
        if code_set not in seed.CODE_SETS:
            raise HttpError(400, "required", f"codeSet must be one of {', '.join(seed.CODE_SETS)}", "codeSet")
        connection = request.context["db"]
        rows = connection.execute("SELECT * FROM codes WHERE code_set = ? ORDER BY code", (code_set,)).fetchall()
        accepted: dict[str, list[str]] = {}
        for row in connection.execute(
            "SELECT code, insurer_identifier FROM insurer_codes WHERE code_set = ? ORDER BY insurer_identifier",
            (code_set,),
        ):
            accepted.setdefault(row["code"], []).append(row["insurer_identifier"])
        if values.get("code"):
            rows = [row for row in rows if row["code"] == values["code"]]
        if values.get("search"):
            text = values["search"].lower()
            rows = [row for row in rows if text in row["code"].lower() or text in row["display"].lower()]
        if values.get("activeOn"):
            day = _parse_date(values["activeOn"], "activeOn").isoformat()
            rows = [row for row in rows if (row["active_from"] or "") <= day and (row["active_to"] or "9999") >= day]
        insurer = values.get("insurerIdentifier")
        if insurer and code_set == seed.PROCEDURE_CODE and any(insurer in v for v in accepted.values()):
            rows = [row for row in rows if insurer in accepted.get(row["code"], [])]
        entries = [resources.code_entry(row, accepted.get(row["code"], [])) for row in rows]
        return _paged(request, entries, page, count)

    # -- find member -----------------------------------------------------------------
    def find_member(self, request: Request) -> Response:
        values = request.form()
        page, count = paging(values)
        connection = request.context["db"]
        insurer_identifier = values.get("insurerIdentifier", "")
        insurer = connection.execute("SELECT * FROM insurers WHERE identifier = ?", (insurer_identifier,)).fetchone()
        if insurer is None:
            raise HttpError(
                400, "value", f"insurerIdentifier '{insurer_identifier}' is not a known insurer", "insurerIdentifier"
            )
        missing = [name for name in resources.FIND_MEMBER_FIELDS[insurer["member_check"]] if not values.get(name)]
        if missing:
            raise HttpError(
                400,
                "required",
                f"{insurer['name']} needs {', '.join(missing)} for Find Member",
                issues=[("required", f"{name} is required for {insurer['name']}", name) for name in missing],
            )
        date_of_birth = _parse_date(values["dateOfBirth"], "dateOfBirth") if values.get("dateOfBirth") else None
        active_on = (
            _parse_date(values["policyActiveOn"], "policyActiveOn")
            if values.get("policyActiveOn")
            else clock.now(connection).date()
        )
        number = values["membershipNumber"].strip()
        formats = rules.membership_formats(insurer_identifier)
        if insurer_identifier == rules.VITALITY_INSURER and rules.VITALITY_MEMBER_NUMBER.match(number):
            return _member_outcome(
                request, "invalid", "This is a Vitality member number; use the 8-digit policy number"
            )
        if not rules.matches_any(number, formats):
            return _member_outcome(
                request,
                "invalid",
                f"membershipNumber is not a valid {insurer['name']} format ({rules.describe(formats)})",
            )
        if insurer["member_check"] == "format":
            found = resources.coverage(
                None, insurer_identifier=insurer_identifier, membership_number=number, active=True, checked_by="format"
            )
            return fhir_response(searchset([found], page=page, max_count=1, base_url=request.base_url + API_PREFIX))
        member = connection.execute(
            "SELECT * FROM members WHERE insurer_identifier = ? AND membership_number = ?", (insurer_identifier, number)
        ).fetchone()
        if member is None:
            return _member_outcome(request, "not-found", f"No {insurer['name']} member with membershipNumber {number}")
        issues = []
        if values.get("firstName") and values["firstName"].strip().lower() != member["first_name"].lower():
            issues.append(("firstName", "firstName does not match the member record"))
        if values["lastName"].strip().lower() != member["last_name"].lower():
            issues.append(("lastName", "lastName does not match the member record"))
        if date_of_birth is not None and date_of_birth.isoformat() != member["date_of_birth"]:
            issues.append(("dateOfBirth", "dateOfBirth does not match the member record"))
        if "".join(values["postCode"].split()).upper() != "".join(member["postcode"].split()).upper():
            issues.append(("postCode", "postCode does not match the member record"))
        if values.get("sex") and values["sex"].strip().lower() != member["sex"]:
            issues.append(("sex", "sex does not match the member record"))
        # Member details are only shown to a caller who already knows them all.
        identity_matches = not issues
        active = cover_active(member, active_on)
        if not active:
            ended = member["cover_end"] or "its end date"
            issues.append(
                ("policyActiveOn", f"Cover is not active on {active_on.isoformat()} (cover lapsed on {ended})")
            )
        found = resources.coverage(
            member if identity_matches else None,
            insurer_identifier=insurer_identifier,
            membership_number=number,
            active=active,
            checked_by="database",
        )
        found["extension"].append(extension("member-match", valueCode="match" if identity_matches else "mismatch"))
        outcome = None
        if issues:
            outcome = operation_outcome([("business-rule", message, field) for field, message in issues], "warning")
        return fhir_response(
            searchset([found], page=page, max_count=1, base_url=request.base_url + API_PREFIX, outcome=outcome)
        )

    # -- bills -----------------------------------------------------------------------
    def submit_bill(self, request: Request) -> Response:
        claim = request.json()
        if not isinstance(claim, dict):
            raise HttpError(400, "structure", "Body must be a FHIR Claim resource (a JSON object)")
        if claim.get("resourceType") != "Claim":
            raise HttpError(
                400, "structure", f"resourceType must be 'Claim', not '{claim.get('resourceType')}'", "resourceType"
            )
        try:
            check_fhir_structure(claim)
        except ClaimNotAccepted as problem:
            raise HttpError(
                400,
                "structure",
                str(problem),
                issues=[("structure", message, where) for where, message in problem.problems],
            ) from None
        connection = request.context["db"]
        try:
            bill, created = bills.submit(
                connection,
                site_id=request.context["site_id"],
                claim=claim,
                idempotency_header=request.header("Idempotency-Key"),
            )
        except ClaimNotAccepted as problem:
            raise HttpError(
                422,
                "required",
                str(problem),
                issues=[("required", message, where) for where, message in problem.problems],
            ) from None
        except bills.BillConflict as conflict:
            raise HttpError(409, "conflict", str(conflict)) from None
        headers = {"Location": f"{request.base_url}{API_PREFIX}/bills/{bill['bill_id']}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return fhir_response(resources.claim_response(connection, bill), 201 if created else 200, headers)

    def get_bill(self, request: Request) -> Response:
        connection = request.context["db"]
        bills.up_to_date(connection)
        try:
            bill = bills.get(connection, request.context["site_id"], request.path_params["bill_id"])
        except bills.BillNotFound:
            raise HttpError(404, "not-found", f"No bill {request.path_params['bill_id']}") from None
        return fhir_response(resources.claim_response(connection, bill))

    def bill_status(self, request: Request) -> Response:
        values = request.form()
        page, count = paging(values)
        connection = request.context["db"]
        bills.up_to_date(connection)
        site_id = request.context["site_id"]
        if values.get("billId"):
            try:
                found = [bills.get(connection, site_id, values["billId"])]
            except bills.BillNotFound:
                found = []
        elif values.get("invoiceNumber"):
            found = bills.find_by_invoice(connection, site_id, values["invoiceNumber"], values.get("insurerIdentifier"))
        else:
            raise HttpError(400, "required", "Give billId or invoiceNumber", "billId")
        return _paged(request, [resources.claim_response(connection, bill) for bill in found], page, count)

    def cancel_bill(self, request: Request) -> Response:
        values = request.form()
        if not values.get("billId"):
            raise HttpError(400, "required", "billId is required", "billId")
        connection = request.context["db"]
        try:
            bill = bills.cancel(connection, request.context["site_id"], values["billId"])
        except bills.BillNotFound:
            raise HttpError(404, "not-found", f"No bill {values['billId']}", "billId") from None
        except bills.BillConflict as conflict:
            raise HttpError(409, "conflict", str(conflict), "billId") from None
        return fhir_response(resources.claim_response(connection, bill))

    # -- remittances -----------------------------------------------------------------
    def pending_remittances(self, request: Request) -> Response:
        values = request.form()
        page, count = paging(values)
        connection = request.context["db"]
        bills.up_to_date(connection)
        batches = remittances.pending(connection, request.context["site_id"])
        entries = [resources.payment_reconciliation(connection, batch, with_details=False) for batch in batches]
        return _paged(request, entries, page, count)

    def remittance_details(self, request: Request) -> Response:
        values = request.form()
        connection = request.context["db"]
        bills.up_to_date(connection)
        batch = self._batch(request, values)
        resources_in_batch = [resources.payment_reconciliation(connection, batch, with_details=True)]
        resources_in_batch += [
            resources.claim_response(connection, bill)
            for bill in remittances.bills_in(connection, batch["remittance_id"])
        ]
        base = request.base_url + API_PREFIX
        return fhir_response(
            {
                "resourceType": "Bundle",
                "id": batch["remittance_id"],
                "type": "collection",
                "timestamp": clock.format_instant(clock.now(connection)),
                "entry": [
                    {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources_in_batch
                ],
            }
        )

    def acknowledge_remittance(self, request: Request) -> Response:
        values = request.form()
        batch = self._batch(request, values)
        batch = remittances.acknowledge(request.context["db"], request.context["site_id"], batch["remittance_id"])
        return fhir_response(
            operation_outcome(
                [("informational", f"Remittance {batch['remittance_id']} acknowledged", None)], "information"
            )
        )

    def _batch(self, request: Request, values: dict[str, str]):
        if not values.get("remittanceId"):
            raise HttpError(400, "required", "remittanceId is required", "remittanceId")
        try:
            return remittances.get(request.context["db"], request.context["site_id"], values["remittanceId"])
        except remittances.RemittanceNotFound:
            raise HttpError(404, "not-found", f"No remittance {values['remittanceId']}", "remittanceId") from None

    def search_remittances(self, request: Request) -> Response:
        values = request.form()
        page, count = paging(values)
        connection = request.context["db"]
        bills.up_to_date(connection)
        matches = []
        for bill, batch in remittances.remitted_bills(connection, request.context["site_id"]):
            paid = remittances.paid_total(connection, bill["bill_id"])
            invoiced = Decimal(bill["amount_invoiced"])
            if _remittance_matches(values, bill, batch, paid, invoiced):
                matches.append(resources.remittance_summary(connection, bill, batch))
        return _paged(request, matches, page, count)

    # -- admin -----------------------------------------------------------------------
    def admin_clock(self, request: Request) -> Response:
        connection = request.context["db"]
        return json_response({"now": clock.format_instant(clock.now(connection)), "mode": clock.mode(connection)})

    def admin_advance_clock(self, request: Request) -> Response:
        document = _admin_body(request)
        try:
            seconds = float(document.get("seconds", 0))
        except (TypeError, ValueError):
            raise HttpError(400, "invalid", "seconds must be a number", "seconds") from None
        if not 0 <= seconds <= 10 * 366 * 86400:
            raise HttpError(400, "invalid", "seconds must be between 0 and ten years", "seconds")
        connection = request.context["db"]
        with db.transaction(connection):
            moved = clock.advance(connection, seconds)
            bills.progress(connection, moved)
        return json_response({"now": clock.format_instant(moved), "mode": clock.mode(connection)})

    def admin_faults(self, request: Request) -> Response:
        return json_response(faults.load(request.context["db"]).as_dict())

    def admin_set_faults(self, request: Request) -> Response:
        try:
            config = faults.FaultConfig.from_mapping(_admin_body(request))
        except (TypeError, ValueError) as exc:
            raise HttpError(400, "invalid", str(exc)) from None
        connection = request.context["db"]
        with db.transaction(connection):
            faults.save(connection, config)
        return json_response(config.as_dict())

    def admin_set_adjudication(self, request: Request) -> Response:
        document = _admin_body(request)
        mode = document.get("mode")
        if mode not in seed.ADJUDICATION_MODES:
            raise HttpError(400, "invalid", f"mode must be one of {', '.join(seed.ADJUDICATION_MODES)}", "mode")
        connection = request.context["db"]
        with db.transaction(connection):
            changed = connection.execute(
                "UPDATE insurers SET adjudication_mode = ?, adjudication_reason = ? WHERE identifier = ?",
                (mode, str(document.get("reason", "")), request.path_params["insurer"]),
            ).rowcount
        if not changed:
            raise HttpError(404, "not-found", f"No insurer {request.path_params['insurer']}")
        return json_response(
            {"insurer": request.path_params["insurer"], "mode": mode, "reason": str(document.get("reason", ""))}
        )

    def admin_expire_tokens(self, request: Request) -> Response:
        connection = request.context["db"]
        with db.transaction(connection):
            expired = connection.execute(
                "UPDATE access_tokens SET expires_at = ? WHERE expires_at > ?", (time.time() - 1, time.time())
            ).rowcount
        return json_response({"expired": expired})


# -- helpers -----------------------------------------------------------------------------
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_error(description: str) -> HttpError:
    return HttpError(
        401,
        "login",
        description,
        "Authorization",
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
    )


def _oauth_error(status: int, error: str, description: str) -> Response:
    response = json_response({"error": error, "error_description": description}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="healthcode-sandbox"'
    return response


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the client socket without a reply (waitress only); otherwise answer 503."""
    check = environ.get("waitress.client_disconnected")
    channel = getattr(check, "__self__", None)
    sock = getattr(channel, "socket", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    from waitress.channel import ClientDisconnected

    raise ClientDisconnected()


def _paged(request: Request, entries: list[dict[str, Any]], page: int, count: int) -> Response:
    start = (page - 1) * count
    return fhir_response(
        searchset(
            entries[start : start + count], page=page, max_count=len(entries), base_url=request.base_url + API_PREFIX
        )
    )


def _member_outcome(request: Request, code: str, message: str) -> Response:
    return fhir_response(
        searchset(
            [],
            page=1,
            max_count=0,
            base_url=request.base_url + API_PREFIX,
            outcome=operation_outcome([(code, message, "membershipNumber")], "warning"),
        )
    )


def _parse_date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise HttpError(400, "invalid", f"{field} must be a date (YYYY-MM-DD)", field) from None


def _admin_body(request: Request) -> dict[str, Any]:
    if request.media_type == "application/x-www-form-urlencoded":
        return request.form()
    if not request.body():
        return {}
    document = request.json(("application/json", "application/fhir+json"))
    if not isinstance(document, dict):
        raise HttpError(400, "structure", "Body must be a JSON object")
    return document


_PREFIXES = ("ge", "le", "gt", "lt", "eq")


def _compare(actual: Any, expression: str, parse: Callable[[str], Any]) -> bool:
    """FHIR-style search prefixes: ge2026-01-01, lt100.00, or a plain value for equality."""
    prefix = expression[:2] if expression[:2] in _PREFIXES else "eq"
    wanted = parse(expression[2:] if expression[:2] in _PREFIXES else expression)
    return {
        "eq": actual == wanted,
        "ge": actual >= wanted,
        "le": actual <= wanted,
        "gt": actual > wanted,
        "lt": actual < wanted,
    }[prefix]


def _remittance_matches(values: dict[str, str], bill, batch, paid: Decimal, invoiced: Decimal) -> bool:
    def as_money(text: str) -> Decimal:
        try:
            return Decimal(text)
        except InvalidOperation:
            raise HttpError(400, "invalid", f"'{text}' is not an amount") from None

    def as_date(text: str) -> dt.date:
        return _parse_date(text, "date")

    checks: list[bool] = []
    if values.get("insurer"):
        checks.append(bill["insurer_identifier"] == values["insurer"])
    if values.get("provider"):
        checks.append(bill["provider_number"] == values["provider"])
    if values.get("invoiceNumber"):
        checks.append(bill["invoice_number"] == values["invoiceNumber"])
    if values.get("patientName"):
        checks.append(values["patientName"].lower() in bill["patient_name"].lower())
    if values.get("membershipNumber"):
        checks.append(bill["membership_number"] == values["membershipNumber"])
    if values.get("paymentReference"):
        checks.append(batch["payment_reference"] == values["paymentReference"])
    if values.get("dateCreated"):
        checks.append(_compare(clock.parse_instant(batch["created_at"]).date(), values["dateCreated"], as_date))
    if values.get("datePaid"):
        checks.append(_compare(dt.date.fromisoformat(batch["payment_date"]), values["datePaid"], as_date))
    if values.get("paymentAmount"):
        checks.append(_compare(paid, values["paymentAmount"], as_money))
    if values.get("amountInvoiced"):
        checks.append(_compare(invoiced, values["amountInvoiced"], as_money))
    if values.get("hasShortFall"):
        wanted = values["hasShortFall"].lower() in ("true", "1", "yes")
        checks.append((paid < invoiced) == wanted)
    return all(checks)


def create_app(
    data_dir: Path,
    *,
    admin_token: str | None = None,
    token_lifetime_seconds: int = 3600,
    clock_mode: str = clock.RUNNING,
    clock_start: dt.datetime | None = None,
    fault_config: faults.FaultConfig | None = None,
) -> SandboxApp:
    """Initialise storage (schema, demo data, clock) and return the WSGI application."""
    db.initialise(data_dir)
    connection = db.connect(data_dir)
    try:
        with db.transaction(connection):
            seed.seed(connection)
            clock.configure(connection, clock_mode, clock_start)
            if fault_config is not None:
                faults.save(connection, fault_config)
    finally:
        connection.close()
    import fhir.resources.R4B.claim  # noqa: F401  -- warm the slow import before the first request

    return SandboxApp(data_dir, admin_token=admin_token, token_lifetime_seconds=token_lifetime_seconds)
