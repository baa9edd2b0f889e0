"""Output: atomic, injection-safe writers for every format, and the HTML report."""
