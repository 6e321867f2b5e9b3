"""Command-line options: base (shared), train and test; models and datasets add their own."""
