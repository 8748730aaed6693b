"""Patients: search server time with 200,000 patients (one practice; a second practice holds
20,000 more) next to the raw SQL of the same queries. Target: p95 under 50 ms for the page.

The mix is what a reception desk types: surname prefixes (1 to 6 letters, common and rare),
"first surname", "surname, first", dates of birth, phone and email prefixes, NHS numbers,
registration numbers (exact and mixed letters/digits), the unfiltered list, and deep keyset pages
(following "Next" 20 times from a common surname and from the whole list)."""

from __future__ import annotations

import datetime as dt
import random
import time

from bench import benchmark, percentile, replay_sql_ms

PATIENTS = 200_000
OTHER_PRACTICE = 20_000
BATCH = 5_000
ROUNDS = 3

SURNAMES = (
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson Evans Walker "
    "White Roberts Green Hall Thomas Clarke Jackson Wood Harris Edwards Turner Martin Cooper Hill Ward "
    "Hughes Moore Clark King Harrison Lewis Baker Lee Allen Morris Khan Scott Watson Davis Parker James "
    "Bennett Young Phillips Richardson Mitchell Bailey Carter Cook Singh Shaw Bell Collins Morgan Kelly "
    "Begum Miller Cox Marshall Simpson Anderson Ellis Adams Wilkinson Ali Foster Chapman Russell Mason "
    "Webb Rogers Gray Hunt Palmer Holmes Campbell Mills Graham Owen Lloyd Knight Barnes Murray Stevens "
    "Butler Dixon Pearson Harvey Griffiths Fletcher Howard Ahmed Hussain Fox Gibson Rose Lawrence Reid "
    "OBrien Okafor Nowak Kowalski Murphy MacDonald Whitfield Ashworth Featherstone Pemberton"
).split()
FIRST = (
    "Oliver Amelia Harry Isla Jack Ava Noah Mia Leo Grace George Sophia Freddie Emily Arthur Lily Charlie "
    "Ella Thomas Evie Oscar Poppy James Freya William Florence Henry Ivy Alfie Willow Archie Rosie Joshua "
    "Sophie Jacob Daisy Muhammad Aisha Mohammed Priya Aarav Zara Ethan Chloe Samuel Ruby Daniel Alice "
    "Joseph Matilda Max Harper Lucas Elsie Edward Isabella Theo Jessica Finley Erin"
).split()


def _nhs_number(rng: random.Random) -> str:
    """A number the app accepts (the `nhs-number` package: check digit and issued ranges)."""
    import nhs_number

    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        candidate = "".join(map(str, digits)) + str(0 if check == 11 else check)
        if check != 10 and nhs_number.is_valid(candidate):
            return candidate


def _populate(practice, count: int, rng: random.Random, insurers) -> dict:
    from openpractice.patients import keys
    from openpractice.patients.models import Patient, PatientRelationship

    weights = [1 / (i + 1) ** 0.8 for i in range(len(SURNAMES))]  # a few very common surnames, a long tail
    nhs_seen: set[str] = set()
    samples = {"dob": [], "phone": [], "email": [], "nhs": [], "registration": [], "name": []}
    made = 0
    while made < count:
        patients = []
        for i in range(made, min(count, made + BATCH)):
            last = rng.choices(SURNAMES, weights)[0]
            first = rng.choice(FIRST)
            born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randint(0, 33_000))
            phone = f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
            email = f"{first.lower()}.{last.lower()}{i}@example.com"
            nhs = ""
            if rng.random() < 0.6:
                nhs = _nhs_number(rng)
                while nhs in nhs_seen:
                    nhs = _nhs_number(rng)
                nhs_seen.add(nhs)
            patients.append(
                Patient(
                    practice=practice,
                    first_name=first,
                    last_name=last,
                    date_of_birth=born,
                    phone=phone,
                    email=email,
                    nhs_number=nhs,
                    postcode="W1G 9PF",
                    last_name_key=keys.name_key(last),
                    first_name_key=keys.name_key(first),
                    phone_key=keys.phone_key(phone),
                    email_key=email,
                )
            )
        Patient.objects.bulk_create(patients, batch_size=1000)
        saved = list(Patient.objects.filter(practice=practice).order_by("-id")[: len(patients)])
        relationships = []
        for p in saved:
            if rng.random() < 0.5:
                contact, style = rng.choice(insurers)
                number = (
                    str(rng.randint(10_000_000, 99_999_999))
                    if style == "digits"
                    else f"AX{rng.randint(1_000_000, 9_999_999)}{rng.choice('ABCDEFGH')}"
                )
                relationships.append(
                    PatientRelationship(
                        practice=practice,
                        patient=p,
                        relationship_type="insurance",
                        related_contact=contact,
                        registration_number=number,
                        registration_key=keys.registration_key(number),
                    )
                )
                if rng.random() < 0.01:
                    samples["registration"].append(number)
            if rng.random() < 0.002:
                samples["dob"].append(p.date_of_birth.strftime("%d/%m/%Y"))
                samples["phone"].append(p.phone[:8])
                samples["email"].append(p.email[: rng.randint(4, 12)])
                samples["name"].append((p.first_name, p.last_name))
                if p.nhs_number:
                    samples["nhs"].append(f"{p.nhs_number[:3]} {p.nhs_number[3:6]} {p.nhs_number[6:]}")
        PatientRelationship.objects.bulk_create(relationships, batch_size=1000)
        made += len(patients)
    return samples


def _insurers(practice):
    from openpractice.coding.models import Insurer
    from openpractice.contacts.models import Contact

    bupa = Insurer.objects.create(name="Bench Bupa", healthcode_identifier="bup", practice=practice)
    axa = Insurer.objects.create(name="Bench AXA Health", healthcode_identifier="ppp", practice=practice)
    return [
        (
            Contact.objects.create(
                practice=practice, contact_type="insurer", name="Bupa", name_key="bupa", insurer=bupa
            ),
            "digits",
        ),
        (
            Contact.objects.create(
                practice=practice, contact_type="insurer", name="AXA Health", name_key="axahealth", insurer=axa
            ),
            "axa",
        ),
    ]


@benchmark("patients")
def patient_search() -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from openpractice.accounts.models import User
    from openpractice.patients import selectors
    from openpractice.practices.models import Membership, Practice

    rng = random.Random(2026)
    practice = Practice.objects.create(name="Bench Clinic")
    other = Practice.objects.create(name="Other Clinic")
    started = time.perf_counter()
    samples = _populate(practice, PATIENTS, rng, _insurers(practice))
    _populate(other, OTHER_PRACTICE, rng, _insurers(other))
    load_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    queries = [
        "",
        "s",
        "sm",
        "smi",
        "smith",
        "ba",
        "bennett",
        "whitf",
        "feath",
        "zzz",
        "oliver smith",
        "smith, ol",
        "patel",
        "o'brien",
    ]
    queries += rng.sample(samples["dob"], 25) + rng.sample(samples["phone"], 25) + rng.sample(samples["email"], 20)
    queries += rng.sample(samples["nhs"], 20) + rng.sample(samples["registration"], 25)
    queries += [f"{first} {last}" for first, last in rng.sample(samples["name"], 15)]
    queries += [last[: rng.randint(2, 5)] for _, last in rng.sample(samples["name"], 25)]

    # Deep pages: cursors 20 "Next" clicks into the list and into a common surname.
    deep = []
    for query in ("", "smith"):
        cursor_value = None
        for _ in range(20):
            page = selectors.search_patients(practice=practice, query=query, after=cursor_value)
            cursor_value = page.next_cursor
        deep.append((query, cursor_value))

    user = User.objects.create_user(
        email="bench-patients@example.test", password="bench-password-123", full_name="Bench"
    )
    Membership.objects.create(user=user, practice=practice, role="receptionist")
    client = Client()
    client.force_login(user)

    view_ms, selector_ms, raw_ms = [], [], []
    cases = [(q, None) for q in queries] + deep
    for query, after in cases:
        params = {"q": query, **({"after": after} if after else {})}
        with CaptureQueriesContext(connection) as captured:
            selectors.search_patients(practice=practice, query=query, after=after)
        statements = [q["sql"] for q in captured.captured_queries]
        for _ in range(ROUNDS):
            t = time.perf_counter()
            response = client.get("/patients/", params)
            view_ms.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200
            t = time.perf_counter()
            selectors.search_patients(practice=practice, query=query, after=after)
            selector_ms.append((time.perf_counter() - t) * 1000)
            raw_ms.append(replay_sql_ms(statements))

    p95_view, p95_sel, p95_raw = percentile(view_ms, 0.95), percentile(selector_ms, 0.95), percentile(raw_ms, 0.95)
    return [
        {
            "metric": f"load {PATIENTS + OTHER_PRACTICE:,} patients (+ insurance rows)",
            "value": load_seconds,
            "unit": "s",
        },
        {"metric": "patient search page p50 (HTTP, auth, render)", "value": percentile(view_ms, 0.5), "unit": "ms"},
        {
            "metric": "patient search page p95 (HTTP, auth, render)",
            "value": p95_view,
            "unit": "ms",
            "target": "< 50",
            "ok": p95_view < 50,
        },
        {"metric": "search_patients() p50", "value": percentile(selector_ms, 0.5), "unit": "ms"},
        {"metric": "search_patients() p95", "value": p95_sel, "unit": "ms", "target": "< 50", "ok": p95_sel < 50},
        {"metric": "raw SQL of the same queries p50", "value": percentile(raw_ms, 0.5), "unit": "ms"},
        {"metric": "raw SQL of the same queries p95", "value": p95_raw, "unit": "ms"},
        {"metric": "searches timed", "value": float(len(cases) * ROUNDS), "unit": "requests"},
    ]
