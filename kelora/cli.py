"""Command line entry point (skeleton; replaced by the full flag set)."""
import sys

from kelora import __version__


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] in (["-V"], ["--version"]):
        print(f"kelora {__version__}")
        sys.exit(0)
    print("kelora: not implemented yet", file=sys.stderr)
    sys.exit(2)
