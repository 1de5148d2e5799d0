"""Inventory: stock rows and the movement ledger (``stock``), staff listings (``queries``),
nightly reconciliation and low-stock alerts. Other packages call ``stock``; every writer of
stock locks rows through ``stock.lock_stock_rows``."""
