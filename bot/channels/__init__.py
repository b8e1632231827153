"""Chat platforms: each turns platform updates into IncomingMessage and renders replies."""
