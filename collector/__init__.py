"""pyjaeger."""
