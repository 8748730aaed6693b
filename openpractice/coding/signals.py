"""Signals coding sends for the apps above it, which coding never imports.

`reference_changed(practice=...)`: a code set, an accepted-code list or the insurer directory was
imported or edited. `practice` is the practice whose view changed, or None when published data
every practice sees changed. Sent inside the writing transaction, so a receiver's own writes
commit or roll back with it (healthcode marks the stored checks of those practices stale)."""

from __future__ import annotations

import django.dispatch

reference_changed = django.dispatch.Signal()


def send_reference_changed(*, sender, practice=None) -> None:
    reference_changed.send(sender=sender, practice=practice)
