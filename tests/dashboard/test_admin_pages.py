"""Every admin page renders; product-written rows are read-only; valuations purge per client."""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Membership, Organization, Role
from deals import services
from deals.models import Deal
from events.models import Event
from jobs.models import Job
from tests.jobs.factories import healthy_csv
from valuations.models import Valuation

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.test", "pw-not-used"))
    return client


@pytest.fixture
def populated(org: Organization, deal: Deal, django_capture_on_commit_callbacks) -> None:
    documents = [
        services.Document("a.csv", io.BytesIO(healthy_csv()), 10),
        services.Document("b.txt", io.BytesIO(b"nope"), 4),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        services.add_statements(org, deal.pk, documents, created_by="x", as_batch=True)
    for n, client_id in enumerate(["c1", "c1", "c2"]):
        Valuation.objects.create(
            organization=org,
            client_id=client_id,
            url=f"https://shop.example/{n}",
            product_id=f"p{n}",
            source="override",
            request={},
            result={},
            version="test",
        )


def test_every_changelist_and_change_page_renders(admin_client: Client, populated: None):
    for model in admin.site._registry:
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        assert admin_client.get(base).status_code == 200, base
        obj = model._default_manager.first()
        if obj is not None:
            assert admin_client.get(f"{base}{obj.pk}/change/").status_code == 200, base


def test_users_carry_their_organisation_and_role(admin_client: Client, org: Organization, underwriter):
    page = admin_client.get(f"/admin/auth/user/{underwriter.pk}/change/").content.decode()
    assert "organisation and role" in page.lower()
    assert 'name="membership-0-role"' in page or 'name="membership-TOTAL_FORMS"' in page
    listing = admin_client.get("/admin/auth/user/").content.decode()
    assert org.name in listing
    assert "Underwriter" in listing


def test_a_role_is_set_on_the_user_page(admin_client: Client, org: Organization, make_user):
    user = make_user(None, username="newbie")
    page = admin_client.get(f"/admin/auth/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in ("username", "first_name", "last_name", "email")}
    data.update(
        {
            "is_active": "on",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
            "membership-TOTAL_FORMS": "1",
            "membership-INITIAL_FORMS": "0",
            "membership-MIN_NUM_FORMS": "0",
            "membership-MAX_NUM_FORMS": "1",
            "membership-0-organization": str(org.pk),
            "membership-0-role": Role.VIEWER,
            "membership-0-user": str(user.pk),
        }
    )
    response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Membership.objects.get(user=user).role == Role.VIEWER


def test_deals_are_filtered_by_status_and_searched(admin_client: Client, populated: None, org: Organization):
    services.create_deal(org, business_name="Zephyr Cycles", created_by="x")
    page = admin_client.get("/admin/deals/deal/?status__exact=new").content.decode()
    assert "Zephyr Cycles" in page
    assert "Bolt Logistics" not in page
    page = admin_client.get("/admin/deals/deal/?q=bolt").content.decode()
    assert "Bolt Logistics" in page
    assert "Zephyr Cycles" not in page
    detail = admin_client.get(
        f"/admin/deals/deal/{Deal.objects.get(business_name='Bolt Logistics').pk}/change/"
    )
    assert "a.csv" in detail.content.decode()  # statements inline
    # Deals come from the dashboard or the API, which publish `deal.created`.
    assert admin_client.get("/admin/deals/deal/add/").status_code == 403


def test_jobs_are_read_only_and_filter_by_status(admin_client: Client, populated: None):
    job = Job.objects.get(status="failed")
    assert admin_client.get("/admin/jobs/job/add/").status_code == 403
    page = admin_client.get("/admin/jobs/job/?status__exact=failed").content.decode()
    assert job.pk in page
    assert Job.objects.get(status="completed").pk not in page
    detail = admin_client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert 'name="_save"' not in detail


def test_events_are_read_only_and_filter_by_type(admin_client: Client, populated: None):
    page = admin_client.get("/admin/events/event/?type=batch.completed").content.decode()
    completed = Event.objects.get(type="batch.completed")
    assert f"/admin/events/event/{completed.pk}/change/" in page
    other = Event.objects.get(type="deal.created")
    assert f"/admin/events/event/{other.pk}/change/" not in page
    detail = admin_client.get(f"/admin/events/event/{completed.pk}/change/").content.decode()
    assert "&quot;succeeded&quot;: 1" in detail
    assert admin_client.post(f"/admin/events/event/{completed.pk}/delete/").status_code == 403


def test_purging_a_client_removes_all_its_valuations_after_confirmation(
    admin_client: Client, populated: None
):
    one = Valuation.objects.filter(client_id="c1")[0]
    confirm = admin_client.post(
        "/admin/valuations/valuation/", {"action": "purge_clients", "_selected_action": [one.pk]}
    )
    assert confirm.status_code == 200
    assert "Purge" in confirm.content.decode()
    assert "c1" in confirm.content.decode()
    assert Valuation.objects.count() == 3
    done = admin_client.post(
        "/admin/valuations/valuation/",
        {"action": "purge_clients", "_selected_action": [one.pk], "confirm": "yes"},
    )
    assert done.status_code == 302
    assert list(Valuation.objects.values_list("client_id", flat=True)) == ["c2"]


def test_an_organisation_admin_sees_only_their_deals(org: Organization, other_org: Organization, deal: Deal):
    from django.contrib.auth.models import Permission

    services.create_deal(other_org, business_name="Rival Deal", created_by="x")
    user = User.objects.create_user("orgadmin", "o@example.test", "pw", is_staff=True)
    Membership.objects.create(user=user, organization=org, role=Role.ADMIN)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_deal", "view_event", "view_user"])
    )
    client = Client()
    client.force_login(user)
    deals = client.get("/admin/deals/deal/").content.decode()
    assert "Bolt Logistics" in deals
    assert "Rival Deal" not in deals
    events = client.get("/admin/events/event/").content.decode()
    assert other_org.name not in events
    users = client.get("/admin/auth/user/").content.decode()
    assert "orgadmin" in users
    assert "root" not in users


def test_operators_can_ask_a_job_to_stop(admin_client: Client, org: Organization):
    running = Job.objects.create(organization=org, type="statement", status="started")
    finished = Job.objects.create(organization=org, type="statement", status="completed")
    response = admin_client.post(
        "/admin/jobs/job/",
        {"action": "request_cancellation", "_selected_action": [running.pk, finished.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Asked 1 job(s) to stop." in page
    assert "1 job(s) had already ended." in page
    running.refresh_from_db()
    assert running.cancel_requested
