class BillingError(Exception):
    """A billing rule was broken; the message says which field and what would be valid."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
