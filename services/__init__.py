"""Domain services: the business rules that both the HTTP API and the Celery tasks call."""
