"""What the clearing house publishes about insurers, as the app ships it. InsurerRules rows (seeded
by migration 0002, refreshed by the insurer-directory sync) override these; these answer when the
table is empty (a fresh or flushed database)."""

from openpractice.healthcode.rules import InsurerFacts

# identifier: (member check, diagnosis required, agreed fees required, time limit in months).
# Time limits are public (HEALTHCODE.md); the rest follow the sandbox's directory until synced.
PUBLISHED_INSURER_RULES = {
    "bup": InsurerFacts("database", True, True, 6),
    "bui": InsurerFacts("format", True, False, None),
    "ppp": InsurerFacts("database", True, True, 6),
    "nuh": InsurerFacts("database", False, False, None),
    "slh": InsurerFacts("database", False, False, 3),
}
