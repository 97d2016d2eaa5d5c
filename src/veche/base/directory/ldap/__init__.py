"""The ldap3 implementation of the directory edge (OpenLDAP and Active Directory)."""
