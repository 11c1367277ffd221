"""A gateway cluster on one machine, for trying it, testing it and measuring it.

- `devcluster.postgres`: a throwaway PostgreSQL server (initdb and pg_ctl in a
  temporary folder, on a free port).
- `devcluster.cluster`: that server, one SMSC simulator and N gateway nodes
  (`python -m devcluster`, `make cluster`).
"""
