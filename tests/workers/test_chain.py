"""A real worker runs a chain across queues through the real broker."""

from celery import chain

from tasks.diagnostics import echo
from workers import QUEUES


def test_a_chain_crosses_every_queue_on_a_real_worker(app, worker):
    steps = [echo.si({"trail": []}, QUEUES[0]).set(queue=QUEUES[0])]
    steps += [echo.s(queue).set(queue=queue) for queue in QUEUES[1:]]
    result = chain(*steps).apply_async()
    payload = result.get(timeout=30)
    assert [hop["stamp"] for hop in payload["trail"]] == list(QUEUES)


def test_routes_send_each_task_module_to_its_queue(app):
    celery_app = app.extensions["celery"]
    route = celery_app.amqp.router.route({}, "tasks.orders.reserve_stock")
    assert route["queue"].name == "orders"
    assert celery_app.amqp.router.route({}, "tasks.diagnostics.echo")["queue"].name == "default"
