"""One module per `bookbot` subcommand. Each exposes `register(subparsers)`; the parser it adds
sets `handler`, a function taking the parsed arguments and returning the exit code."""
