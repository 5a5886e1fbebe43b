"""Articles as files: reading, writing, editing, the one HTML extractor, and sentence chunking."""
