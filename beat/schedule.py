"""The periodic jobs (SPEC section 6) as data: name -> task, schedule, queue.

The names are the job names recorded by ``services.jobs.record_run`` (``GET /admin/jobs``)."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat": {
        "task": "tasks.maintenance.heartbeat",
        "schedule": 60.0,
        "options": {"queue": "maintenance", "expires": 55},
    },
    "low_stock_alerts": {
        "task": "tasks.maintenance.low_stock_alerts",
        "schedule": crontab(minute=0),
        "options": {"queue": "maintenance", "expires": 50 * 60},
    },
    "reconcile_stock": {
        "task": "tasks.maintenance.reconcile_stock",
        "schedule": crontab(minute=0, hour=2),
        "options": {"queue": "maintenance", "expires": 3 * 3600},
    },
    # --- orders area (h5) ---
    "expire_carts": {
        "task": "tasks.maintenance.expire_carts",
        "schedule": 15 * 60.0,
        "options": {"queue": "maintenance", "expires": 14 * 60},
    },
    "expire_unpaid_orders": {
        "task": "tasks.maintenance.expire_unpaid_orders",
        "schedule": 5 * 60.0,
        "options": {"queue": "maintenance", "expires": 4 * 60},
    },
    "outbox_relay": {
        "task": "tasks.maintenance.relay_outbox",
        "schedule": 5.0,
        "options": {"queue": "maintenance", "expires": 5},
    },
    # Emails whose enqueue was lost (broker down at the time) are enqueued again.
    "requeue-unsent-email": {
        "task": "tasks.email.requeue_unsent",
        "schedule": 120.0,
        "options": {"queue": "email", "expires": 110},
    },
    # --- payments ---
    # Webhooks are the fast path; this settles payments that have waited for minutes.
    "poll_stuck_payments": {
        "task": "tasks.payments.poll_stuck_payments",
        "schedule": 5 * 60.0,
        "options": {"queue": "payments", "expires": 4 * 60},
    },
    # Nightly: our payments against Stripe's PaymentIntents of the last 48 h.
    "reconcile_payments": {
        "task": "tasks.payments.reconcile_payments",
        "schedule": crontab(minute=0, hour=3),
        "options": {"queue": "payments", "expires": 3 * 3600},
    },
    # --- shipping ---
    # Webhooks are the fast path; this asks the carrier about shipments gone quiet.
    "poll_stale_shipments": {
        "task": "tasks.shipping.poll_stale_shipments",
        "schedule": crontab(minute=15),
        "options": {"queue": "shipping", "expires": 50 * 60},
    },
    # A no-op unless CARRIER_SIMULATION=on (then simulated shipments advance by webhooks).
    "simulate_carrier": {
        "task": "tasks.shipping.simulate_carrier",
        "schedule": 15.0,
        "options": {"queue": "shipping", "expires": 14},
    },
    # --- notifications ---
    "back_in_stock": {
        "task": "tasks.notifications.back_in_stock",
        "schedule": 60.0,
        "options": {"queue": "notifications", "expires": 55},
    },
    "release_held_notifications": {
        "task": "tasks.notifications.release_held",
        "schedule": 60.0,
        "options": {"queue": "notifications", "expires": 55},
    },
    # --- analytics ---
    "publish_events": {
        "task": "tasks.analytics.publish_events",
        "schedule": 5.0,
        "options": {"queue": "analytics", "expires": 5},
    },
    "rollup_sales": {
        "task": "tasks.analytics.rollup_sales",
        "schedule": crontab(minute=5),
        "options": {"queue": "analytics", "expires": 50 * 60},
    },
    # --- reviews and recommendations ---
    "build_recommendations": {
        "task": "tasks.recommendations.build_recommendations",
        "schedule": crontab(minute=30, hour=3),
        "options": {"queue": "maintenance", "expires": 3 * 3600},
    },
    # --- search ---
    "search_consistency": {
        "task": "tasks.search.search_consistency",
        "schedule": crontab(minute=0, hour=4),
        "options": {"queue": "search", "expires": 3 * 3600},
    },
}

__all__ = ["BEAT_SCHEDULE", "crontab"]
