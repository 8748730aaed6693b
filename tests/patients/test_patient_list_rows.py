"""The patient search's rows come from one filter (patient_rows.patient_list_rows, issue 18): the
markup is the old row template's, values escaped, for titled, archived and plain patients."""

import datetime as dt
import re

from django.template import Context, Template

from openpractice.patients import services
from openpractice.patients.selectors import search_patients

# The rows as patients/list.html rendered them before patient_list_rows.
OLD_ROWS = """<tbody>{% for p in patients %}
<tr><td><a href="{% url 'patients:detail' p.id %}">{{ p.last_name|upper }}, {{ p.first_name }}</a>{% if p.title %} <small class="muted">({{ p.title }})</small>{% endif %}{% if p.is_archived %} <span class="badge">Archived</span>{% endif %}</td>
<td>{{ p.date_of_birth|date:"d/m/Y" }}</td><td>{{ p.nhs_number_display }}</td><td>{{ p.phone }}</td><td>{{ p.email }}</td><td>{{ p.postcode }}</td></tr>
{% endfor %}</tbody>"""


def _squeezed(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


def test_the_rows_are_the_markup_of_the_old_row_template(practice):
    born = dt.date(1980, 4, 2)
    services.create_patient(
        practice=practice,
        data={
            "title": "Dr",
            "first_name": "Oliver",
            "last_name": "O'Brien <b>",
            "date_of_birth": born,
            "nhs_number": "943 476 5919",
            "phone": "07700 900123",
            "email": "oliver@example.com",
            "postcode": "W1A 1AA",
        },
    )
    services.create_patient(
        practice=practice, data={"first_name": "Ann & Co", "last_name": "Bennett", "date_of_birth": born}
    )
    archived = services.create_patient(
        practice=practice, data={"first_name": "Zoe", "last_name": "Carter", "date_of_birth": dt.date(2001, 12, 31)}
    )
    archived.is_archived = True
    archived.save()
    patients = search_patients(practice=practice, include_archived=True).patients
    assert len(patients) == 3 and any(p.is_archived for p in patients) and any(p.title for p in patients)
    context = Context({"patients": patients})
    old = Template(OLD_ROWS).render(context)
    new = Template("{% load patient_rows %}<tbody>\n{{ patients|patient_list_rows }}\n</tbody>").render(context)
    assert _squeezed(new) == _squeezed(old)
    assert "O&#x27;BRIEN &lt;B&gt;" in new and "Ann &amp; Co" in new


def test_the_search_page_shows_the_rows(client, owner, practice):
    services.create_patient(
        practice=practice, data={"first_name": "Oliver", "last_name": "Bennett", "date_of_birth": dt.date(1980, 4, 12)}
    )
    client.force_login(owner)
    page = client.get("/patients/", {"q": "benn"}).content.decode()
    assert "BENNETT, Oliver" in page and "12/04/1980" in page
