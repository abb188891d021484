"""`python -m kelora` runs the command line."""
from kelora.cli.app import main

if __name__ == "__main__":
    main()
