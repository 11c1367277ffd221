"""`smsgw`: the gateway's command line, for operators and load testers.

It talks to a gateway only over its public REST API (contract sections 1-9), as any
integrator would: nothing here imports the engine, the API or the simulator.

- `client`: one synchronous HTTP client, the contract's error envelope as `ApiFailure`.
- `output`: rich tables for people, JSON for scripts, one line per error.
- `main`: the `smsgw` group; `options`: the options every command shares.
- `comptes`, `envois`: the admin account commands; sending and following a send;
  `numbers` reads a CSV file's phone column.
- `charge`: the load test (trio, many concurrent connections), its arithmetic in `stats`.
- `cluster` (`make cluster`): a throwaway PostgreSQL (`postgres`), one simulator and
  gateway nodes as processes on this machine, for people, tests and benchmarks.
"""
