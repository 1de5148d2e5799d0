"""Notifications: the delivery log and preferences (``delivery``), e-mail backends and
templates (``email``), and mail to staff (``staff``). Other packages call ``delivery``."""
