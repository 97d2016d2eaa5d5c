"""Tests of high availability: several servers of each role, database and bus failover."""
