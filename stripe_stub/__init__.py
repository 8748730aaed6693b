"""A local stand-in for the few Stripe calls OpenPractice makes (docs/stripe_stub.md): Checkout
Sessions, Refunds, PaymentIntents, Webhook Endpoints and the balance (for "Test connection"), in
Stripe's JSON shapes; a checkout page where the patient pays with a test card; and signed webhooks
(`Stripe-Signature: t=…,v1=…`, HMAC-SHA256) sent to the endpoints registered. Imports nothing of
OpenPractice (import-linter contract)."""
