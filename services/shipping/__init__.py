"""Shipping: carrier adapters, tracking events from webhooks and polls, the simulated carrier."""
