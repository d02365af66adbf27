"""Who may see and do what: viewers look, underwriters act, other organisations do not exist."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from accounts.models import Organization, Role
from deals import services
from deals.models import Deal, DealStatus, ProposalStatus
from tests.dashboard.conftest import logged_in, open_proposal
from tests.jobs.factories import healthy_csv

pytestmark = pytest.mark.django_db


def csv_upload(name: str = "january.csv"):
    upload = io.BytesIO(healthy_csv())
    upload.name = name
    return upload


@pytest.mark.parametrize("path", ["/", "/activity", "/deals/1", "/deals/1/review", "/batches/batch_x"])
def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, path: str):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/login?next={path}")


@pytest.mark.parametrize(
    "path", ["/deals/new", "/deals/1/statements", "/deals/1/decision", "/changes/ch_x/approve"]
)
def test_anonymous_posts_are_sent_to_the_login_page(client: Client, path: str):
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_a_user_without_an_organisation_is_refused(make_user):
    client = logged_in(make_user(None, username="drifter"))
    response = client.get("/")
    assert response.status_code == 403
    assert "not part of an organisation" in response.content.decode()


def test_a_viewer_sees_no_controls(viewer_client: Client, reviewed_deal: Deal):
    html = viewer_client.get(f"/deals/{reviewed_deal.pk}").content.decode()
    assert 'id="upload-form"' not in html
    assert "as suggested" not in html
    assert "Record decision" not in html
    assert "Only underwriters and admins can act on a suggestion." in html
    list_html = viewer_client.get("/").content.decode()
    assert "Create deal" not in list_html


def test_an_underwriter_sees_the_controls(underwriter_client: Client, deal: Deal):
    html = underwriter_client.get(f"/deals/{deal.pk}").content.decode()
    assert 'id="upload-form"' in html
    assert "Create deal" in underwriter_client.get("/").content.decode()


def test_an_admin_role_may_act_too(org: Organization, make_user, deal: Deal):
    client = logged_in(make_user(org, Role.ADMIN, username="boss"))
    response = client.post(
        f"/deals/{deal.pk}/statements", {"statements": csv_upload()}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 202


def test_a_viewer_cannot_create_a_deal(viewer_client: Client):
    response = viewer_client.post("/deals/new", {"business_name": "Sneaky"})
    assert response.status_code == 403
    assert not Deal.objects.filter(business_name="Sneaky").exists()


def test_a_viewer_cannot_upload(viewer_client: Client, deal: Deal):
    response = viewer_client.post(
        f"/deals/{deal.pk}/statements", {"statements": csv_upload()}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 403
    assert not deal.statements.exists()


def test_a_viewer_cannot_decide(viewer_client: Client, reviewed_deal: Deal):
    response = viewer_client.post(f"/deals/{reviewed_deal.pk}/decision", {"decision": "approved"})
    assert response.status_code == 403
    reviewed_deal.refresh_from_db()
    assert reviewed_deal.status == DealStatus.UNDER_REVIEW


@pytest.mark.parametrize("verb", ["approve", "reject"])
def test_a_viewer_cannot_resolve_a_proposal(viewer_client: Client, reviewed_deal: Deal, verb: str):
    change = open_proposal(reviewed_deal)
    response = viewer_client.post(f"/changes/{change.pk}/{verb}")
    assert response.status_code == 403
    change.refresh_from_db()
    assert change.status == ProposalStatus.OPEN


def test_another_organisations_deal_is_not_found(other_org: Organization, make_user, reviewed_deal: Deal):
    outsider = logged_in(make_user(other_org, Role.UNDERWRITER, username="rival"))
    change = open_proposal(reviewed_deal)
    assert outsider.get(f"/deals/{reviewed_deal.pk}").status_code == 404
    assert outsider.get(f"/deals/{reviewed_deal.pk}/review").status_code == 404
    assert (
        outsider.post(f"/deals/{reviewed_deal.pk}/statements", {"statements": csv_upload()}).status_code
        == 404
    )
    assert outsider.post(f"/deals/{reviewed_deal.pk}/decision", {"decision": "approved"}).status_code == 404
    assert outsider.post(f"/changes/{change.pk}/approve").status_code == 404
    assert outsider.post(f"/changes/{change.pk}/reject").status_code == 404
    reviewed_deal.refresh_from_db()
    assert reviewed_deal.status == DealStatus.UNDER_REVIEW
    assert "Bolt Logistics" not in outsider.get("/").content.decode()
    assert "Bolt Logistics" not in outsider.get("/activity").content.decode()


def test_another_organisations_batch_is_not_found(
    other_org: Organization, org: Organization, make_user, deal: Deal
):
    _, batch = services.add_statements(
        org, deal.pk, [services.Document("a.csv", csv_upload(), 10)], created_by="x", as_batch=True
    )
    assert batch is not None
    outsider = logged_in(make_user(other_org, Role.UNDERWRITER, username="rival"))
    assert outsider.get(f"/batches/{batch.pk}").status_code == 404


def test_uploads_need_the_csrf_token(underwriter, deal: Deal):
    client = Client(enforce_csrf_checks=True)
    client.force_login(underwriter)
    response = client.post(f"/deals/{deal.pk}/statements", {"statements": csv_upload()})
    assert response.status_code == 403
    assert not deal.statements.exists()


def test_an_id_too_large_for_the_database_is_simply_not_found(underwriter_client: Client):
    assert underwriter_client.get("/deals/99999999999999999999999").status_code == 404
