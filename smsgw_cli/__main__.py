"""`python -m smsgw_cli`: the same as the `smsgw` command."""

from smsgw_cli.main import main

main()
