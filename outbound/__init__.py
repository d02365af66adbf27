"""Requests this service makes to other servers (product pages, webhooks), made safely."""
