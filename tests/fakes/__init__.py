"""Local stand-ins for vendor APIs: a real HTTP server on 127.0.0.1 speaking their wire formats."""
