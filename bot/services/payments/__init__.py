"""Payments: the gateway interface (gateway.py) and its Stripe and demo implementations, Checkout
Sessions for held bookings (checkout.py), Stripe's webhook events (webhooks.py), refunds and their
retries (records.py, refunds.py). Nothing here imports aiogram; handlers call checkout.py and
render what it returns.
"""
