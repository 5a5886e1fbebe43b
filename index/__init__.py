"""The answer engine: corpus loading, chunking, embedding, the FAISS + SQLite store, search and answers.

This package never imports ``bot``: everything here works from the command line alone.
"""
