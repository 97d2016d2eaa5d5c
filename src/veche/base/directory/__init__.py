"""The directory: sources synced from LDAP / Active Directory, directory logins, the address book, presence."""
