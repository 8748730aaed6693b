"""The top of the house: pages and commands that read every app (the dashboard, the demo data).
Nothing imports it."""
