"""What a command shows and how it fails: the event stream and its renderers, consoles and tables,
Ray workers' epochs relayed to the driver, third-party logging, escaping, and errors turned into one line."""
