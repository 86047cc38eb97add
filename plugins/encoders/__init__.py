"""Built-in item encoders."""
