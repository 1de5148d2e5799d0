"""Privacy: re-sealing the PII encrypted at rest under the newest key (``rotation``) and
erasing a shopper's personal data on request (``erasure``)."""
