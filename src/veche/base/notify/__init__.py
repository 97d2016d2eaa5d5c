"""The notification service of the base role: the durable mail queue and its SMTP sender, in-app notices, Web Push
and mobile push (docs/notifications.md)."""
