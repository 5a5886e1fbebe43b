"""The index on disk: immutable segments, versions behind ``CURRENT``, and the build that makes them."""
