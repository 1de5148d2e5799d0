"""Reviews of books by shoppers, and the rating summary they feed."""
