"""The benchmark behind ``make bench`` (not collected by pytest: no test_ files here)."""
