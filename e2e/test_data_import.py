"""In a browser: Settings › Import data. Upload a patients CSV with one bad row, see the problem by
row and field, upload the fixed file (its columns remembered), see the dry run, import, and find
the patients in the list."""

import pytest
from playwright.sync_api import expect

PASSWORD = "correct-horse-battery"  # the root conftest's make_member password

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = "Patient ID,Title,Forename,Surname,DOB,Gender,Email,Postcode,NHS No,Insurer,Membership Number"
BAD = [
    HEADER,
    "P1,Mrs,Ada,Lovelace,10/12/1985,F,ada@example.com,w1g 9pf,943 476 5919,bup,12345678",
    "P2,,Charles,Babbage,31/02/1971,M,,,,,",
    "P3,Dr,Grace,Hopper,09/12/1956,F,grace@example.com,SW1A 1AA,,,",
]


def _csv(rows):
    return {"name": "patients.csv", "mimeType": "text/csv", "buffer": ("\n".join(rows) + "\n").encode()}


def _upload(page, rows):
    page.get_by_label("Patients").check()
    page.get_by_label("Exported from").fill("Acme PAS")
    page.get_by_label("CSV file").set_input_files(_csv(rows))
    page.get_by_role("button", name="Upload and choose columns").click()


def _bupa(practice):
    from openpractice.coding.selectors import find_insurer
    from openpractice.contacts.services import create_contact

    insurer = find_insurer(practice=practice, healthcode_identifier="bup")
    create_contact(practice=practice, data={"contact_type": "insurer", "name": "Bupa", "insurer": insurer})


def test_import_patients_fix_the_file_and_post(page, live_server, login, owner, practice, screenshot, console_errors):
    _bupa(practice)
    login(owner.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/practice/")
    page.get_by_role("link", name="Import data").click()
    expect(page.get_by_role("heading", name="No imports yet")).to_be_visible()
    screenshot(page, "data-import-01-start")

    _upload(page, BAD)
    expect(page.get_by_role("heading", name="Which column holds what")).to_be_visible()
    expect(page.get_by_label("Date of birth")).to_have_value("DOB")  # guessed from the header
    expect(page.get_by_label("Registration number")).to_have_value("Membership Number")
    screenshot(page, "data-import-02-columns")
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("heading", name="1 problem to fix")).to_be_visible()
    problem = page.locator("#import-problems tbody tr")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("3")  # line 3 of the file
    expect(problem).to_contain_text("Date of birth")
    expect(problem).to_contain_text("31/02/1971")
    expect(problem).to_contain_text("four-digit year, such as 12/04/1980")
    expect(page.locator("#count-create")).to_have_text("2")
    expect(page.locator("#import-post")).to_have_count(0)
    screenshot(page, "data-import-03-problem")

    page.get_by_role("button", name="Upload a fixed file").click()
    fixed = [row.replace("31/02/1971", "26/12/1971") for row in BAD]
    _upload(page, fixed)
    expect(page.get_by_label("Date of birth")).to_have_value("DOB")
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Every row passed its checks")).to_be_visible()
    expect(page.locator("#count-create")).to_have_text("3")
    expect(page.locator("#count-problems")).to_have_text("0")
    screenshot(page, "data-import-04-dry-run")

    page.get_by_role("button", name="Import 3 patients").click()
    expect(page.get_by_role("heading", name="Imported")).to_be_visible()
    expect(page.locator(".flash-success")).to_contain_text("3 patients added")
    screenshot(page, "data-import-05-done")

    page.get_by_role("button", name="See the patients").click()
    for name in ("LOVELACE", "BABBAGE", "HOPPER"):
        expect(page.locator("main")).to_contain_text(name)
    screenshot(page, "data-import-06-patients")

    # the same file again adds nothing
    page.goto(f"{live_server.url}/settings/import/")
    _upload(page, fixed)
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#count-already-imported")).to_have_text("3")
    expect(page.locator("main")).to_contain_text("Nothing new to add")
    assert not console_errors


def test_a_big_file_is_checked_in_the_background_and_the_page_shows_the_result(
    page, live_server, login, owner, practice, settings, console_errors
):
    """1,500 rows: the check runs in a task; the page shows its progress, then (by itself, when the
    worker has finished) the problems by row and field."""
    from e2e.test_background_updates import DATABASE_TASKS, WorkerThread

    settings.TASKS = DATABASE_TASKS
    rows = [HEADER] + [
        f"P{i},,Ada{i},Lovelace,{'31/02/1980' if i % 100 == 0 else '10/12/1985'},F,,,,," for i in range(1, 1501)
    ]
    login(owner.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/import/")
    _upload(page, rows)
    page.get_by_role("button", name="Check the file").click()
    progress = page.locator("#import-progress")
    expect(progress).to_contain_text("Checking every row")
    expect(progress).to_contain_text("of 1,500 rows checked")
    expect(page.locator("#import-post")).to_have_count(0)

    worker = WorkerThread()
    worker.start()
    try:
        expect(page.get_by_role("heading", name="15 problems to fix")).to_be_visible(timeout=30_000)
    finally:
        worker.stop()
    problem = page.locator("#import-problems tbody tr").first
    expect(problem).to_contain_text("101")  # P100 is line 101 of the file
    expect(problem).to_contain_text("Date of birth")
    expect(page.locator("#count-create")).to_have_text("1,485")
    assert not console_errors
