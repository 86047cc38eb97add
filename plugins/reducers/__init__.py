"""Built-in dimension reducers."""
