class SubmissionError(Exception):
    """A bill cannot be submitted, cancelled or refreshed now; the message says why and what to do."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid", problems=None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.problems = problems or []


class HealthcodeSetupError(SubmissionError):
    """Healthcode is not set up (or not usable) for this practice; the message says what to do.

    A SubmissionError too, so whatever works through many bills (the status schedule, the status
    refresh after a remittance) records it for that bill and goes on with the rest."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "not_configured"):
        super().__init__(message, field=field, code=code)
