"""What every Veche server process runs whatever its roles: identity, registration, heartbeats, commands."""
