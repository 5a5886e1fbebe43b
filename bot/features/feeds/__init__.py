"""/feeds: the followed news feeds, their background poll and announcements."""
