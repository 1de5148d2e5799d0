"""Operations: health checks, scheduled-job runs, the failed-task store and the staff audit
log. Called by the API's operator endpoints, by tasks and by other services (``audit``)."""
