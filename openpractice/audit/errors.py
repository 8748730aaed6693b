class AuditError(Exception):
    """A read-log filter was not valid; the message says which and what would be."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
