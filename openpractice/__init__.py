"""OpenPractice: practice management for UK private practices, with Healthcode e-billing."""
