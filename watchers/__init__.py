"""Watchers: feeds and APIs that reveal new and updated documents."""
