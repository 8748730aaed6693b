"""The fast database paths, in one place: set-based writes and reads that the ORM makes slow.

Apps keep their own queries and call these; nothing here knows a domain.
"""
