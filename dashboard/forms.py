"""Dashboard forms: the same fields and limits as the API's serializers, as Django forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from dashboard.presentation import ACTIVITY_TYPES, DECISIONS_PRESET, EVENT_TITLES
from deals.models import DealStatus, Decision
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
