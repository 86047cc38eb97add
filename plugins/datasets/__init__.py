"""Built-in datasets: the real MicroLens-1M download and its synthetic stand-in."""
