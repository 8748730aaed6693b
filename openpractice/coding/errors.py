class CodingError(Exception):
    """A rule about codes, insurers or an import was broken; the message says which (and where)."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid", row: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.row = row  # the file line, for import problems
