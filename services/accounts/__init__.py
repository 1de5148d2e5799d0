"""Accounts: registration, login and profile (``users``), passwords, access tokens
(``tokens``), rotating refresh tokens, signed e-mail links (``link_tokens``) and addresses.
Other packages call ``users``, ``tokens`` and ``addresses``."""
