"""Recommendations: item-item neighbours built offline, read by the API and its cache."""
