"""SIP dial-in: the app role's listener, its messages and decisions (docs/sip.md)."""
