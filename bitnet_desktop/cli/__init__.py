"""The `bitnet-desktop` command line: one module per subcommand, wired together in main.py."""
