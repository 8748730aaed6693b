"""Demo data seeded on first start (idempotent: ``INSERT OR IGNORE`` throughout).

Everything here is sample data for development, demos and tests. The CCSD codes are the
public examples from the project's domain notes; the ISC codes are invented and marked
SAMPLE (real ISC values are not public); no full CCSD or ISC list is shipped.
"""

from __future__ import annotations

import hashlib
import sqlite3

DEMO_SITE_ID = "HC16190"
DEMO_SITE_NAME = "OpenPractice Demo Practice"
DEMO_CLIENT_ID = "openpractice-demo"
DEMO_CLIENT_SECRET = "sandbox-demo-key"
# A second site so tests can check that one site's token cannot act for another.
OTHER_SITE_ID = "HC99999"
OTHER_CLIENT_ID = "other-practice"
OTHER_CLIENT_SECRET = "other-practice-key"

PAY_IN_FULL = "pay_in_full"
PAY_TO_MAXIMUM = "pay_to_maximum"
REJECT = "reject"
ADJUDICATION_MODES = (PAY_IN_FULL, PAY_TO_MAXIMUM, REJECT)

# identifier, name, member check, identifier public?, requires diagnosis,
# requires agreed fees, time limit (months), adjudication mode, adjudication reason
INSURERS = [
    ("bup", "Bupa", "database", True, True, True, 6, PAY_IN_FULL, ""),
    ("bui", "Bupa Global", "format", True, True, False, None, PAY_IN_FULL, ""),
    ("ppp", "AXA Health", "database", True, True, True, 6, PAY_IN_FULL, ""),
    (
        "nuh",
        "Aviva",
        "database",
        True,
        False,
        False,
        None,
        PAY_TO_MAXIMUM,
        "Benefit maximum for this procedure; the shortfall is the patient's to pay",
    ),
    (
        "slh",
        "Vitality Health",
        "database",
        True,
        False,
        False,
        3,
        PAY_TO_MAXIMUM,
        "Fee above Vitality's schedule; the shortfall is the patient's to pay",
    ),
    ("cin", "Cigna International", "format", True, False, False, None, PAY_IN_FULL, ""),
    ("tih", "Trust In Health", "format", True, False, False, None, PAY_IN_FULL, ""),
    ("wpa", "WPA", "format", True, False, False, None, PAY_IN_FULL, ""),
    ("pzo", "Patientzone", "format", True, False, False, None, PAY_IN_FULL, ""),
    # Identifiers below are not public: sandbox-only values.
    ("alh", "Alliance Health", "format", False, False, False, None, PAY_IN_FULL, ""),
    ("alz", "Allianz Partners", "format", False, False, False, None, PAY_IN_FULL, ""),
    ("hlx", "Healix Health Services", "format", False, False, False, None, PAY_IN_FULL, ""),
    ("wtw", "Willis Towers Watson", "format", False, False, False, None, PAY_IN_FULL, ""),
]
DATABASE_INSURERS = ("bup", "ppp", "nuh", "slh")

# Aetna Americas members are Allianz Partners members (W numbers): the separate `aet` entry an
# earlier sandbox listed is retired on start (rules.INSURER_ALIASES still takes bills sent to it).
RETIRED_INSURERS = ("aet",)

# identifier, name, specialty, insurers that recognise them (None = all)
PRACTITIONERS = [
    ("0651978", "Dr Alice Example", "Trauma and orthopaedic surgery", None),
    ("0712345", "Dr Bilal Sample", "Cardiology", ("bup", "ppp", "nuh")),
    ("0698765", "Ms Carys Demo", "Ophthalmology", ("nuh", "slh", "bup")),
]

LOCATIONS = [
    ("600123456", "OpenPractice Demo Clinic"),
    ("600654321", "Sandbox Day Surgery Unit"),
]

# insurer, membership number, first name, last name, sex, date of birth, postcode,
# cover start, cover end (None = open)
MEMBERS = [
    ("bup", "10000001", "Oliver", "Bennett", "male", "1980-04-12", "SW1A 1AA", "2020-01-01", None),
    ("bup", "10000002", "Amelia", "Clarke", "female", "1975-09-30", "M1 1AE", "2019-06-01", None),
    ("bup", "10000009", "Harry", "Whitfield", "male", "1968-02-14", "LS1 4DY", "2018-01-01", "2023-12-31"),
    ("ppp", "AX1234567B", "Isla", "Turner", "female", "1990-07-21", "B1 1BB", "2021-03-01", None),
    ("ppp", "AXA-AB123456", "Jack", "Morgan", "male", "1985-11-03", "EH1 1YZ", "2017-05-01", None),
    ("ppp", "HOL/A1234567", "Emily", "Hughes", "female", "1972-03-08", "CF10 1EP", "2015-01-01", "2024-03-31"),
    ("nuh", "100200300", "Noah", "Patel", "male", "1992-01-15", "BS1 4DJ", "2022-01-01", None),
    ("nuh", "100200301", "Sophia", "Evans", "female", "1988-05-27", "NE1 7RU", "2020-09-01", None),
    ("nuh", "100200399", "Thomas", "Wright", "male", "1960-12-01", "OX1 2JD", "2010-01-01", "2022-06-30"),
    ("slh", "40123456", "Mia", "Robinson", "female", "1995-08-19", "G1 1XQ", "2023-01-01", None),
    ("slh", "40123457", "Leo", "Walker", "male", "1983-10-10", "L1 8JQ", "2016-04-01", None),
    ("slh", "40123499", "Grace", "Hall", "female", "1979-04-04", "NG1 5FS", "2014-01-01", "2024-12-31"),
]

SERVICE_TYPE = "service-type"  # ISC
PROCEDURE_CODE = "procedure-code"  # CCSD
CONDITION_CODE = "condition-code"  # ICD-10
CODE_SETS = (SERVICE_TYPE, PROCEDURE_CODE, CONDITION_CODE)

# code set, code, display, active from, active to, note
CODES = [
    # ISC: invented SAMPLE codes; real values are not public.
    (SERVICE_TYPE, "SCON1", "SAMPLE ISC: initial outpatient consultation", "2000-01-01", None, "SAMPLE"),
    (SERVICE_TYPE, "SCON2", "SAMPLE ISC: follow-up outpatient consultation", "2000-01-01", None, "SAMPLE"),
    (SERVICE_TYPE, "SAUD1", "SAMPLE ISC: audiology test", "2000-01-01", None, "SAMPLE"),
    (SERVICE_TYPE, "SCAR1", "SAMPLE ISC: cardiac diagnostic test", "2000-01-01", None, "SAMPLE"),
    (SERVICE_TYPE, "SOPH1", "SAMPLE ISC: ophthalmology diagnostic test", "2000-01-01", None, "SAMPLE"),
    (SERVICE_TYPE, "SRES1", "SAMPLE ISC: respiratory test", "2000-01-01", None, "SAMPLE"),
    (SERVICE_TYPE, "SPAT1", "SAMPLE ISC: pathology test", "2000-01-01", None, "SAMPLE"),
    (SERVICE_TYPE, "SRAD1", "SAMPLE ISC: radiology examination", "2000-01-01", None, "SAMPLE"),
    # CCSD: public examples (shared/domain/sample-codes.csv); dates are the sandbox's choice.
    (
        PROCEDURE_CODE,
        "W8500",
        "Multiple arthroscopic operations on knee",
        "2000-01-01",
        None,
        "SAMPLE; AXA: should be used in isolation",
    ),
    (PROCEDURE_CODE, "W8520", "Arthroscopy of knee as sole procedure", "2000-01-01", None, "SAMPLE"),
    (PROCEDURE_CODE, "C7520", "Phacoemulsification of lens with implant", "2000-01-01", None, "SAMPLE"),
    (PROCEDURE_CODE, "C6180", "Needling of bleb", "2000-01-01", None, "SAMPLE"),
    (PROCEDURE_CODE, "E2880", "Epley manoeuvre", "2000-01-01", None, "SAMPLE"),
    (PROCEDURE_CODE, "H2510", "Rigid sigmoidoscopy", "2000-01-01", None, "SAMPLE"),
    (PROCEDURE_CODE, "20110", "Electrocardiogram (ECG)", "2000-01-01", None, "SAMPLE"),
    (PROCEDURE_CODE, "25000", "Incision and drainage", "2000-01-01", None, "SAMPLE"),
    (PROCEDURE_CODE, "64301", "Echocardiography", "2000-01-01", None, "SAMPLE"),
    (PROCEDURE_CODE, "20300", "Initial outpatient consultation (face to face)", "2000-01-01", None, "SAMPLE"),
    (PROCEDURE_CODE, "AC100", "Local anaesthetic by main operator", "2000-01-01", "2019-12-31", "SAMPLE; withdrawn"),
    # ICD-10 (WHO edition): a few sample codes.
    (CONDITION_CODE, "M17.1", "Other primary gonarthrosis", None, None, "SAMPLE"),
    (CONDITION_CODE, "M23.2", "Derangement of meniscus due to old tear or injury", None, None, "SAMPLE"),
    (CONDITION_CODE, "H25.9", "Senile cataract, unspecified", None, None, "SAMPLE"),
    (CONDITION_CODE, "H81.1", "Benign paroxysmal vertigo", None, None, "SAMPLE"),
    (CONDITION_CODE, "I48", "Atrial fibrillation and flutter", None, None, "SAMPLE"),
    (CONDITION_CODE, "R07.4", "Chest pain, unspecified", None, None, "SAMPLE"),
    (CONDITION_CODE, "K62.5", "Haemorrhage of anus and rectum", None, None, "SAMPLE"),
]

# Which procedure codes each database insurer accepts, with its maximum fee (GBP) per unit.
# Insurers with no rows here accept every active code and have no maxima.
_CCSD_MAXIMA = {
    "W8500": "1200.00",
    "W8520": "950.00",
    "C7520": "1500.00",
    "C6180": "400.00",
    "E2880": "150.00",
    "H2510": "300.00",
    "20110": "60.00",
    "25000": "250.00",
    "64301": "350.00",
    "20300": "200.00",
}
_ISC_MAXIMA = {
    "SCON1": "200.00",
    "SCON2": "150.00",
    "SAUD1": "120.00",
    "SCAR1": "180.00",
    "SOPH1": "150.00",
    "SRES1": "160.00",
    "SPAT1": "90.00",
    "SRAD1": "250.00",
}
_NOT_ACCEPTED = {"bup": {"E2880"}, "ppp": {"H2510"}, "nuh": set(), "slh": {"C6180"}}


def _insurer_code_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for insurer in DATABASE_INSURERS:
        for code, maximum in _CCSD_MAXIMA.items():
            if code not in _NOT_ACCEPTED[insurer]:
                rows.append((insurer, PROCEDURE_CODE, code, maximum))
        for code, maximum in _ISC_MAXIMA.items():
            rows.append((insurer, SERVICE_TYPE, code, maximum))
    return rows


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def seed(connection: sqlite3.Connection) -> None:
    """Insert the demo data; rows that already exist are left as they are."""
    execute = connection.execute
    for site_id, name in ((DEMO_SITE_ID, DEMO_SITE_NAME), (OTHER_SITE_ID, "Another practice")):
        execute("INSERT OR IGNORE INTO sites (site_id, name) VALUES (?, ?)", (site_id, name))
    for client_id, secret, site_id in (
        (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SITE_ID),
        (OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, OTHER_SITE_ID),
    ):
        execute(
            "INSERT OR IGNORE INTO api_clients (client_id, secret_sha256, site_id) VALUES (?, ?, ?)",
            (client_id, secret_digest(secret), site_id),
        )
    for row in INSURERS:
        execute("INSERT OR IGNORE INTO insurers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    for identifier in RETIRED_INSURERS:
        for table in ("practitioner_recognitions", "members", "insurer_codes"):
            execute(f"DELETE FROM {table} WHERE insurer_identifier = ?", (identifier,))
        execute("DELETE FROM insurers WHERE identifier = ?", (identifier,))
    all_insurers = [row[0] for row in INSURERS]
    for identifier, name, specialty, recognised_by in PRACTITIONERS:
        execute("INSERT OR IGNORE INTO practitioners VALUES (?, ?, ?)", (identifier, name, specialty))
        for insurer in recognised_by or all_insurers:
            execute("INSERT OR IGNORE INTO practitioner_recognitions VALUES (?, ?)", (identifier, insurer))
    for number, name in LOCATIONS:
        execute("INSERT OR IGNORE INTO locations VALUES (?, ?)", (number, name))
    for member in MEMBERS:
        execute("INSERT OR IGNORE INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", member)
    for code in CODES:
        execute("INSERT OR IGNORE INTO codes VALUES (?, ?, ?, ?, ?, ?)", code)
    for row in _insurer_code_rows():
        execute("INSERT OR IGNORE INTO insurer_codes VALUES (?, ?, ?, ?)", row)
