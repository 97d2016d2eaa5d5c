"""Files sent in chats: the blob stores they are kept in, the scan hook, and the service that takes uploads,
checks them and hands them out to the chat's members (docs/files.md)."""
