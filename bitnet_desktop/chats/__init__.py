"""Conversations: the SQLite store, search, export/import, and the chat session that streams answers into it. No Qt."""
