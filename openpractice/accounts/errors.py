class AccountError(Exception):
    """A rule about users or practitioner profiles was broken; the message says which."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
