"""Analytics: domain events with each change, the ``events`` exchange, the sales roll-up."""
