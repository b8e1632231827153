"""What CrossDesk knows: FAQ knowledge base, language detection, retrieval, translation."""
