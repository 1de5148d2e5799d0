"""Search: full-text book search with facets, typo tolerance and suggestions, behind one
backend interface (PostgreSQL by default), kept fresh from recorded reindex requests."""
