"""Which chase stage a debt needs next: pure, no database (the SQL form of the same rule for many
debts at once is `selectors.chase_candidates`; a property test holds the two together).

- A held debt is never chased: paid (nothing owed), disputed, written off, or promised to pay
  until a date not yet passed.
- A debt only moves forward: the next stage is the first stage in use after the furthest stage
  already sent, so no stage is ever sent twice and none goes out after a later one.
- That stage is due once the debt is its days overdue and, after an earlier send, once the
  schedule's gap between the two stages has passed since that send: a debt found late gets its
  statement, then its reminders spaced as the schedule spaces them, never all in one week.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence

from openpractice.receivables.models import STAGE_ORDER
from openpractice.receivables.schedule import Stage


@dataclasses.dataclass(frozen=True)
class Holds:
    paid: bool = False
    disputed: bool = False
    written_off: bool = False
    promised_until: dt.date | None = None

    def hold(self, today: dt.date) -> bool:
        promised = self.promised_until is not None and self.promised_until >= today
        return self.paid or self.disputed or self.written_off or promised


def furthest_sent(sent: Collection[str]) -> int:
    """The position of the furthest stage sent (-1: none)."""
    return max((STAGE_ORDER[key] for key in sent), default=-1)


def next_in_use(stages: Sequence[Stage], after: int) -> Stage | None:
    return next((s for s in stages if s.enabled and s.position > after), None)


def gap_days(stages: Sequence[Stage], last: int, following: Stage) -> int:
    """Days the schedule leaves between the last stage sent and the next (0 for the first)."""
    if last < 0:
        return 0
    last_days = next(s.days_overdue for s in stages if s.position == last)
    return max(following.days_overdue - last_days, 0)


def next_stage(
    *,
    stages: Sequence[Stage],
    days_overdue: int,
    sent: Collection[str],
    last_sent_on: dt.date | None,
    holds: Holds,
    today: dt.date,
) -> Stage | None:
    """The stage to send this debt today, or None."""
    if holds.hold(today):
        return None
    last = furthest_sent(sent)
    following = next_in_use(stages, last)
    if following is None or days_overdue < following.days_overdue:
        return None
    if last_sent_on is not None and (today - last_sent_on).days < gap_days(stages, last, following):
        return None
    return following
