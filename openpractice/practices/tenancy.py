"""What keeps one practice's data away from another's.

Every practice-owned model subclasses PracticeOwned; every read goes through
`Model.objects.for_practice(practice)` or `get_for_practice_or_404`. An object of another
practice is a 404, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.http import Http404

M = TypeVar("M", bound=models.Model)


class PracticeScopedQuerySet(models.QuerySet):
    def for_practice(self, practice) -> PracticeScopedQuerySet:
        if practice is None:
            return self.none()
        return self.filter(practice=practice)


class PracticeOwned(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        abstract = True


def get_for_practice_or_404(queryset_or_model, practice, **lookup):
    """Fetch one object of this practice, or raise Http404 (for pages and the API alike)."""
    queryset = queryset_or_model._default_manager.all() if isinstance(queryset_or_model, type) else queryset_or_model
    try:
        return queryset.filter(practice=practice).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404("No such record in this practice.") from None
