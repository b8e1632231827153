"""The runtime: configuration, composition, command line, channels and delivery."""
