class RemittanceError(Exception):
    """A remittance rule was broken; the message says which field and what would be valid."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid", problems=None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        # File imports: every (row, column, problem) found, so a bad file is named in full.
        self.problems = problems or []
