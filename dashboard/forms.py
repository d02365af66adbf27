"""Dashboard forms: the same fields and limits as the API's serializers, as Django forms."""

from __future__ import annotations

import calendar
import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.files.uploadedfile import UploadedFile

from dashboard.presentation import ACTIVITY_TYPES, DECISIONS_PRESET, EVENT_TITLES
from deals.models import DealStatus, Decision, TransactionCategory
from deals.uploads import MAX_BATCH_DOCUMENTS


class DealForm(forms.Form):
    business_name = forms.CharField(max_length=200, label="Business name")
    amount_requested = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, label="Amount requested"
    )
    external_ref = forms.CharField(max_length=100, required=False, label="Your reference")


# The deal list's orders (the `sort` query parameter): a work queue is read by score, by amount
# or by how long a deal has waited.
DEAL_SORTS: dict[str, tuple[str, str]] = {
    "newest": ("Newest first", "-created_at"),
    "oldest": ("Oldest first", "created_at"),
    "score": ("Highest score", "-health_score"),
    "score_low": ("Lowest score", "health_score"),
    "amount": ("Largest amount", "-amount_requested"),
    "amount_low": ("Smallest amount", "amount_requested"),
}
AWAITING_DECISION = "awaiting"


class DealFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *DealStatus.choices], required=False)
    search = forms.CharField(max_length=200, required=False, label="Search")
    view = forms.ChoiceField(
        choices=[("", "All deals"), (AWAITING_DECISION, "Awaiting decision")], required=False
    )
    sort = forms.ChoiceField(
        choices=[(key, label) for key, (label, _) in DEAL_SORTS.items()], required=False, label="Sort"
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect)
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented recipe for `<input multiple>`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single_clean = super().clean
        if isinstance(data, (list, tuple)):
            return [single_clean(item, initial) for item in data]
        return [single_clean(data, initial)]


class UploadForm(forms.Form):
    statements = MultipleFileField(label="Bank statements")

    def clean_statements(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["statements"]
        if len(files) > MAX_BATCH_DOCUMENTS:
            raise forms.ValidationError(f"Upload at most {MAX_BATCH_DOCUMENTS} files at once.")
        if any(not upload.size for upload in files):
            raise forms.ValidationError("One of the files is empty.")
        return files


class ActivityFilterForm(forms.Form):
    type = forms.ChoiceField(
        choices=[
            ("", "All events"),
            (DECISIONS_PRESET, "Decisions only"),
            *((name, EVENT_TITLES[name]) for name in ACTIVITY_TYPES),
        ],
        required=False,
        label="Show",
    )
    before = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)


TRANSACTIONS_PER_PAGE = 50


class TransactionFilterForm(forms.Form):
    """The deal page's transaction filters; each maps onto `deals.transaction_list.filter_transactions`."""

    category = forms.ChoiceField(
        choices=[("", "Any category"), *TransactionCategory.choices], required=False, label="Category"
    )
    flag = forms.ChoiceField(choices=[("", "Any flag")], required=False, label="Flag")
    statement = forms.TypedChoiceField(
        choices=[("", "All statements")], coerce=int, empty_value=None, required=False, label="Statement"
    )
    month = forms.ChoiceField(choices=[("", "Any month")], required=False, label="Month")
    revenue = forms.ChoiceField(
        choices=[("", "Counted or not"), ("counted", "Counted as revenue"), ("not_counted", "Not counted")],
        required=False,
        label="Revenue",
    )
    q = forms.CharField(max_length=200, required=False, label="Search")
    page = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        data: Any,
        *,
        flags: list[tuple[str, str]],
        statements: list[tuple[int, str]],
        months: list[datetime.date],
    ) -> None:
        super().__init__(data)
        fields: Any = self.fields
        fields["flag"].choices = [("", "Any flag"), *flags]
        fields["statement"].choices = [("", "All statements"), *statements]
        fields["month"].choices = [("", "Any month"), *((f"{m:%Y-%m}", f"{m:%B %Y}") for m in months)]

    def filters(self) -> dict[str, Any]:
        """The valid filters as keyword arguments of `filter_transactions` (invalid ones are ignored)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        found: dict[str, Any] = {}
        if data.get("category"):
            found["category"] = data["category"]
        if data.get("flag"):
            found["flag"] = data["flag"]
        if data.get("statement") is not None:
            found["statement_id"] = data["statement"]
        if data.get("month"):
            year, month = (int(part) for part in data["month"].split("-"))
            first = datetime.date(year, month, 1)
            found["date_from"] = first
            found["date_to"] = first.replace(day=calendar.monthrange(year, month)[1])
        if data.get("revenue"):
            found["counted"] = data["revenue"] == "counted"
        if (data.get("q") or "").strip():
            found["search"] = data["q"].strip()
        return found

    def query(self, **changes: Any) -> str:
        """The valid filters (and page) as a query string, with `changes` applied."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        values = {name: data.get(name) for name in self.fields}
        values.update(changes)
        return urlencode({name: value for name, value in values.items() if value not in (None, "")})


class RevenueForm(forms.Form):
    """Count a transaction as revenue or not (`POST /api/v1/deals/{id}/transactions/{tx}/revenue`)."""

    counted = forms.TypedChoiceField(
        choices=[("yes", "Count as revenue"), ("no", "Do not count as revenue")],
        coerce=lambda value: value == "yes",
    )
    note = forms.CharField(max_length=2000, required=False, label="Reason")
    back = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)
